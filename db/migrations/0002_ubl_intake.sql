CREATE TABLE "idempotency_keys" (
	"user_id" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"status" integer NOT NULL,
	"response" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_keys_user_id_key_pk" PRIMARY KEY("user_id","key")
);
--> statement-breakpoint
CREATE TABLE "invoice_attachments" (
	"invoice_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"reference" text NOT NULL,
	"description" text,
	"filename" text,
	"mime_code" text,
	"embedded_bytes" integer,
	"uri" text,
	CONSTRAINT "invoice_attachments_invoice_id_position_pk" PRIMARY KEY("invoice_id","position")
);
--> statement-breakpoint
CREATE TABLE "invoice_documents" (
	"invoice_id" uuid PRIMARY KEY NOT NULL,
	"content_type" text NOT NULL,
	"content" "bytea" NOT NULL,
	"sha256" text NOT NULL,
	"size" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "source_format" text DEFAULT 'json' NOT NULL;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "customization_id" text;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "profile_id" text;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "line_total" numeric;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "allowance_total" numeric;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "charge_total" numeric;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "prepaid" numeric;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "rounding" numeric;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "payable" numeric;--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoice_attachments" ADD CONSTRAINT "invoice_attachments_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoice_documents" ADD CONSTRAINT "invoice_documents_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;