CREATE TABLE "task_users" (
	"user_id" text NOT NULL,
	"task_id" text NOT NULL,
	"relation" text NOT NULL,
	"invoice_id" uuid NOT NULL,
	"state" text NOT NULL,
	"opened_at" timestamp with time zone NOT NULL,
	CONSTRAINT "task_users_user_id_task_id_relation_pk" PRIMARY KEY("user_id","task_id","relation")
);
--> statement-breakpoint
DROP INDEX "tasks_assignees_idx";--> statement-breakpoint
DROP INDEX "tasks_acted_by_idx";--> statement-breakpoint
ALTER TABLE "task_users" ADD CONSTRAINT "task_users_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "task_users" ADD CONSTRAINT "task_users_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "task_users_queue_idx" ON "task_users" USING btree ("user_id","relation","state","opened_at","task_id");--> statement-breakpoint
CREATE INDEX "task_users_history_idx" ON "task_users" USING btree ("user_id","relation","opened_at","task_id");--> statement-breakpoint
-- Backfill from the tasks projected before this table existed.
INSERT INTO "task_users" ("user_id", "task_id", "relation", "invoice_id", "state", "opened_at")
SELECT a, "id", 'assignee', "invoice_id", "state", "opened_at" FROM "tasks", unnest("assignees") AS a
UNION
SELECT a, "id", 'actor', "invoice_id", "state", "opened_at" FROM "tasks", unnest("acted_by") AS a
ON CONFLICT DO NOTHING;
