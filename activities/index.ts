/**
 * Every activity, built by one factory from its dependencies so the worker wires real ones and
 * tests can wrap them. One file per activity or closely related group; this file combines them.
 */
import type { Transporter } from 'nodemailer';
import type { Db } from '../db/client';
import type { ReplyAddressing } from '../lib/reply-address';
import { agreementJobActivities } from './agreement-jobs';
import { directoryActivities } from './directory';
import { legacyV1Activities } from './legacy-v1';
import { messageActivities } from './messages';
import { pastDueActivities } from './past-due';
import { postInvoiceActivity } from './post-invoice';
import { routingActivities } from './prepare-routing';
import { recordStateActivity } from './record-state';
import { replaceCodingActivity } from './replace-coding';
import { reviewActivities } from './review';
import { salesPostingActivities } from './sales-posting';

export { audit } from './audit';
export { startOfPeriod } from './agreement-jobs';

export interface ActivityDeps {
  db: Db;
  /** Unused by the activities now: every mail goes through the outbox (worker/mail-dispatcher.ts sends it). */
  mailer?: Transporter;
  clock: () => Date;
  /** Sender of the mails; default `invoiceflow <invoiceflow@localhost>`. */
  mailFrom?: string;
  /** How supplier mails are answered (lib/reply-address.ts); a development default outside production. */
  replyAddressing?: ReplyAddressing;
}

/** How supplier mails are answered outside production. */
export const DEVELOPMENT_REPLIES: ReplyAddressing = {
  secret: 'development-reply-secret-not-for-production',
  domain: 'invoiceflow.localhost',
};

/** The sender of the mails unless configured. */
export const DEFAULT_MAIL_FROM = 'invoiceflow <invoiceflow@localhost>';

export function createActivities({ db, clock, mailFrom = DEFAULT_MAIL_FROM, replyAddressing = DEVELOPMENT_REPLIES }: ActivityDeps) {
  return {
    ...routingActivities({ db, clock, mailFrom, replyAddressing }),
    ...directoryActivities({ db, clock }),
    ...recordStateActivity({ db, clock }),
    ...postInvoiceActivity({ db, clock }),
    ...replaceCodingActivity({ db }),
    ...reviewActivities({ db, clock }),
    ...messageActivities({ db }),
    ...agreementJobActivities({ db }),
    ...pastDueActivities({ db }),
    ...legacyV1Activities({ db, clock }),
    ...salesPostingActivities({ db, clock }),
  };
}

/** The one type of the activities, as workflows proxy them. */
export type Activities = ReturnType<typeof createActivities>;
