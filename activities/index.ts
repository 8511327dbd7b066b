/**
 * Every activity, built by one factory from its dependencies so the worker wires real ones and
 * tests can wrap them. One file per activity or closely related group; this file combines them.
 */
import type { Transporter } from 'nodemailer';
import type { Db } from '../db/client';
import { agreementJobActivities } from './agreement-jobs';
import { directoryActivities } from './directory';
import { legacyV1Activities } from './legacy-v1';
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
  mailer: Transporter;
  clock: () => Date;
  /** Sender of the mails; default `invoiceflow <invoiceflow@localhost>`. */
  mailFrom?: string;
}

export function createActivities({ db, mailer, clock, mailFrom = 'invoiceflow <invoiceflow@localhost>' }: ActivityDeps) {
  return {
    ...routingActivities({ db, clock }),
    ...directoryActivities({ db }),
    ...recordStateActivity({ db, clock }),
    ...postInvoiceActivity({ db, clock }),
    ...replaceCodingActivity({ db }),
    ...reviewActivities({ db, clock }),
    ...agreementJobActivities({ db, mailer, mailFrom }),
    ...legacyV1Activities({ db, clock }),
    ...salesPostingActivities({ db, clock }),
  };
}

/** The one type of the activities, as workflows proxy them. */
export type Activities = ReturnType<typeof createActivities>;
