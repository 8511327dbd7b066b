/** The mails about an invoice, as the workflow needs them (the inbound endpoint stores them). */
import { ApplicationFailure } from '@temporalio/common';
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client';
import { invoiceMessages } from '../db/schema';
import { activity } from './failures';

export function messageActivities({ db }: { db: Db }) {
  return {
    /** A stored message of the invoice; non-retryable when there is none (a forged notice changes nothing). */
    loadMessage: activity(
      z.strictObject({ invoiceId: z.uuid(), messageId: z.uuid() }),
      async ({ invoiceId, messageId }): Promise<{ subject: string; from: string }> => {
        const [m] = await db
          .select({ subject: invoiceMessages.subject, from: invoiceMessages.from })
          .from(invoiceMessages)
          .where(and(eq(invoiceMessages.id, messageId), eq(invoiceMessages.invoiceId, invoiceId)));
        if (!m) throw ApplicationFailure.nonRetryable(`no message ${messageId} on invoice ${invoiceId}`, 'MessageNotFound');
        return m;
      },
    ),
  };
}
