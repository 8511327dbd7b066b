DROP INDEX "invoices_number_idx";--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "workflow_started_at" timestamp with time zone;--> statement-breakpoint
-- Every invoice before this migration had its workflow started in its intake transaction.
UPDATE "invoices" SET "workflow_started_at" = "created_at";--> statement-breakpoint
CREATE INDEX "invoices_unstarted_idx" ON "invoices" USING btree ("created_at") WHERE "invoices"."workflow_started_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_number_idx" ON "invoices" USING btree ("company_id","vendor_id","document_type","invoice_number");