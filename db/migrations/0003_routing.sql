CREATE TABLE "partnerships" (
	"environment_a" text NOT NULL,
	"environment_b" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "partnerships_environment_a_environment_b_pk" PRIMARY KEY("environment_a","environment_b"),
	CONSTRAINT "partnerships_ordered" CHECK ("partnerships"."environment_a" < "partnerships"."environment_b")
);
--> statement-breakpoint
ALTER TABLE "coding_rows" ADD COLUMN "second_approved_by" text;--> statement-breakpoint
ALTER TABLE "coding_rows" ADD COLUMN "second_approved_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "message" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "reminded_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "escalated_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "coding_rows" ADD CONSTRAINT "coding_rows_second_approved_by_users_id_fk" FOREIGN KEY ("second_approved_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;