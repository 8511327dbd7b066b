import type { Db, Tx } from '../db/client';
import { auditEvents } from '../db/schema';

/** Appends an audit event; the event key makes a retried write a no-op. Nothing is ever deleted. */
export async function audit(
  tx: Tx | Db,
  event: {
    companyId: string;
    invoiceId?: string;
    actor: string;
    kind: string;
    message: string;
    data?: Record<string, unknown>;
    eventKey?: string;
  },
): Promise<void> {
  await tx
    .insert(auditEvents)
    .values({ ...event, data: event.data ?? {}, eventKey: event.eventKey ?? null })
    .onConflictDoNothing({ target: auditEvents.eventKey });
}
