CREATE TABLE "agreement_matches" (
	"invoice_id" uuid PRIMARY KEY NOT NULL,
	"agreement_id" uuid NOT NULL,
	"invoice_date" date NOT NULL,
	"gross" numeric NOT NULL,
	"counted" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agreements" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"company_id" uuid NOT NULL,
	"vendor_id" uuid NOT NULL,
	"reference_pattern" text,
	"invoice_number" text,
	"amount_from" numeric NOT NULL,
	"amount_to" numeric NOT NULL,
	"days" integer NOT NULL,
	"cumulative_cap" numeric,
	"cumulative_total" numeric DEFAULT '0' NOT NULL,
	"reset_period" text,
	"last_reset_at" timestamp with time zone DEFAULT now() NOT NULL,
	"coding_template_id" uuid NOT NULL,
	"approval_user_id" text,
	"flow_template_id" uuid,
	"stage" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "agreement_matches" ADD CONSTRAINT "agreement_matches_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agreement_matches" ADD CONSTRAINT "agreement_matches_agreement_id_agreements_id_fk" FOREIGN KEY ("agreement_id") REFERENCES "public"."agreements"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agreements" ADD CONSTRAINT "agreements_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agreements" ADD CONSTRAINT "agreements_vendor_id_vendors_id_fk" FOREIGN KEY ("vendor_id") REFERENCES "public"."vendors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agreements" ADD CONSTRAINT "agreements_coding_template_id_coding_templates_id_fk" FOREIGN KEY ("coding_template_id") REFERENCES "public"."coding_templates"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agreements" ADD CONSTRAINT "agreements_approval_user_id_users_id_fk" FOREIGN KEY ("approval_user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agreements" ADD CONSTRAINT "agreements_flow_template_id_flow_templates_id_fk" FOREIGN KEY ("flow_template_id") REFERENCES "public"."flow_templates"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agreement_matches_agreement_idx" ON "agreement_matches" USING btree ("agreement_id","invoice_date");--> statement-breakpoint
CREATE INDEX "agreements_vendor_idx" ON "agreements" USING btree ("company_id","vendor_id");