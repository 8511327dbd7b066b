/**
 * Mail through real SMTP both ways: the inbound endpoint takes a supplier's answer sent with
 * nodemailer, the outbox dispatcher delivers to an SMTP server in the test, the past-due digest
 * goes out once a day per user.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { and, eq, inArray, isNull } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import { createApp } from '../../api/app';
import { auditEvents, invoiceMessages, invoices, mailOutbox, startRules, taskUsers, tasks, vendors } from '../../db/schema';
import { createLogger } from '../../lib/logger';
import { invoiceOfReplyAddress, replyAddressFor } from '../../lib/reply-address';
import { startInboundMail, type InboundMail } from '../../mail/inbound';
import { startDevMailCatcher } from '../../scripts/dev-mail';
import { GIVEN_UP } from '../../worker/mail-dispatcher';
import { PAST_DUE_SCHEDULE, ensureSchedules } from '../../worker/schedules';
import { TASK_QUEUE } from '../../workflows/definitions';
import { TEST_REPLY_ADDRESSING, addUser, invoiceBody, startStack, waitFor, waitForStage, type Stack } from '../harness';
import { startSmtp, type TestSmtp } from '../smtp';

let stack: Stack;
let smtp: TestSmtp;
let inbound: InboundMail;
beforeAll(async () => {
  smtp = await startSmtp();
  stack = await startStack({ smtpUrl: smtp.url });
  inbound = await startInboundMail({
    db: stack.database.db,
    temporal: stack.temporal,
    log: createLogger('inbound-test', process.env.TEST_VERBOSE ? 'info' : 'silent'),
    port: 0,
    addressing: TEST_REPLY_ADDRESSING,
  });
});
afterAll(async () => {
  await inbound?.stop();
  await stack?.stop();
  await smtp?.stop();
});

const slug = () => stack.company.users.alice!.split('.')[0]!;

async function intake(overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await stack.api('POST', '/api/v1/invoices', { as: 'alice', body: invoiceBody(stack, overrides) });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** Sends a mail to the inbound endpoint over SMTP, as a supplier's mail server would. */
async function sendAnswer(mail: nodemailer.SendMailOptions) {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: inbound.port, secure: false, ignoreTLS: true });
  try {
    return await transport.sendMail({
      from: 'Jane Supplier <jane@supplier.example>',
      subject: 'Re: your question',
      text: 'Hello',
      ...mail,
    });
  } finally {
    transport.close();
  }
}

/** A header of a raw message, unfolded. */
function header(raw: string, name: string): string {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  return new RegExp(`^${name}:[ \t]*(.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
}

/** The subject, also when folded over lines (test/smtp.ts reads only the first). */
const subject = (raw: string) => header(raw, 'Subject');

const messagesOf = (id: string) => stack.api('GET', `/api/v1/invoices/${id}/messages`, { as: 'erin' });

describe('answers from suppliers through the inbound SMTP endpoint', () => {
  it("a start rule's question reaches the supplier by SMTP, and the answer sent back by SMTP resumes the invoice", async () => {
    const prefix = `ASK-${randomBytes(3).toString('hex')}`;
    await stack.database.db.insert(startRules).values({
      companyId: stack.company.companyId,
      position: 1,
      name: 'Ask for the order number',
      conditions: [{ field: 'invoiceNumber', test: 'startsWith', value: prefix }],
      outcome: {
        kind: 'mail',
        to: 'supplier',
        subject: 'Invoice {{invoiceNumber}}: which order?',
        body: 'Please tell us the order number of invoice {{invoiceNumber}}.',
        awaitReply: '1h',
      },
    });
    const number = `${prefix}-1`;
    const id = await intake({ invoiceNumber: number });
    const [question] = await waitFor(
      async () =>
        smtp.messages.filter((m) => m.to.includes('billing@paperpens.example') && subject(m.raw) === `Invoice ${number}: which order?`),
      (m) => m.length === 1,
    );
    const replyTo = header(question!.raw, 'Reply-To');
    expect(invoiceOfReplyAddress(replyTo, new Date(), TEST_REPLY_ADDRESSING)).toEqual({ invoiceId: id });

    // An out-of-office robot's answer is kept, but is no answer: the invoice still waits.
    await sendAnswer({ to: replyTo, subject: 'Out of office', text: 'Back on Monday.', headers: { 'Auto-Submitted': 'auto-replied' } });
    const [stillWaiting] = await stack.database.db
      .select()
      .from(tasks)
      .where(and(eq(tasks.invoiceId, id), eq(tasks.state, 'open')));
    expect(stillWaiting!.message).toMatch(/^Waiting for the answer/);

    await sendAnswer({
      to: replyTo,
      subject: `Re: Invoice ${number}: which order?`,
      text: 'Order 6001234.',
      inReplyTo: header(question!.raw, 'Message-ID'),
    });
    const [task] = await waitFor(
      () =>
        stack.database.db
          .select()
          .from(tasks)
          .where(and(eq(tasks.invoiceId, id), eq(tasks.state, 'open'))),
      (rows) => rows[0]?.message === `The supplier answered: Re: Invoice ${number}: which order?`,
    );
    expect(task!.stage).toBe('new');
    const listed = await messagesOf(id);
    expect(listed.body.items.map((m: { direction: string; subject: string }) => [m.direction, m.subject])).toEqual([
      ['out', `Invoice ${number}: which order?`],
      ['in', 'Out of office'],
      ['in', `Re: Invoice ${number}: which order?`],
    ]);
    // Answered: the clerk registers the invoice and it goes on to review.
    expect((await stack.api('POST', `/api/v1/invoices/${id}/actions/approve`, { as: 'alice', body: {} })).status).toBe(200);
    await waitForStage(stack, id, 'review');
  });

  it('with no answer within the period: a reminder to the supplier, then after another period the clerks take it up', async () => {
    const prefix = `SILENT-${randomBytes(3).toString('hex')}`;
    // Seconds, as a test may configure it (the API takes minutes and more).
    await stack.database.db.insert(startRules).values({
      companyId: stack.company.companyId,
      position: 1,
      name: 'Ask and wait',
      conditions: [{ field: 'invoiceNumber', test: 'startsWith', value: prefix }],
      outcome: { kind: 'mail', to: 'supplier', subject: 'Invoice {{invoiceNumber}}: which order?', body: 'Which order?', awaitReply: '2s' },
    });
    const number = `${prefix}-1`;
    const id = await intake({ invoiceNumber: number });
    const mailsAbout = () => smtp.messages.filter((m) => subject(m.raw).includes(number));
    const sent = await waitFor(
      async () => mailsAbout(),
      (m) => m.length >= 3,
      30_000,
    );
    expect(sent.map((m) => [m.to, subject(m.raw)])).toEqual([
      [['billing@paperpens.example'], `Invoice ${number}: which order?`],
      [['billing@paperpens.example'], `Reminder: we are still waiting for your answer about invoice ${number}`],
      [expect.arrayContaining([`alice@${slug()}.example`]), `No answer from Paper & Pens Ltd about invoice ${number}: please take it up`],
    ]);
    const [task] = await waitFor(
      () =>
        stack.database.db
          .select()
          .from(tasks)
          .where(and(eq(tasks.invoiceId, id), eq(tasks.state, 'open'))),
      (rows) => rows[0]?.message === 'No answer from the supplier: take it up',
    );
    expect(task!.assignees).toContain(stack.company.users.alice);
  });

  it('an answer to a valid reply address lands on the invoice with its attachments, once per Message-ID', async () => {
    const id = await intake();
    const to = replyAddressFor(id, new Date(), TEST_REPLY_ADDRESSING);
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(2048)]);
    const answer = {
      to,
      subject: 'Re: order number for your invoice',
      text: 'The order number is 6001234.',
      messageId: `<answer-${id}@supplier.example>`,
      attachments: [
        { filename: 'order.pdf', content: pdf, contentType: 'application/pdf' },
        { filename: 'note.html', content: '<script>alert(1)</script>', contentType: 'text/html' },
      ],
    };
    await sendAnswer(answer);
    // A redelivery of the same message (the sender's server retrying) is stored once.
    await sendAnswer(answer);

    const listed = await waitFor(
      () => messagesOf(id),
      (r) => r.status === 200 && r.body.items.length === 1,
    );
    const [message] = listed.body.items;
    expect(message).toMatchObject({
      direction: 'in',
      from: 'Jane Supplier <jane@supplier.example>',
      to,
      subject: 'Re: order number for your invoice',
      text: expect.stringContaining('The order number is 6001234.'),
      attachments: [
        { position: 1, filename: 'order.pdf', contentType: 'application/pdf', size: pdf.length },
        { position: 2, filename: 'note.html', contentType: 'text/html', size: 25 },
      ],
    });
    const file = await fetch(`${stack.baseUrl}${message.attachments[0].url}`, {
      headers: { authorization: `Bearer ${stack.company.tokens.erin}` },
    });
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('application/pdf');
    expect(file.headers.get('content-disposition')).toMatch(/^attachment; filename="order.pdf"/);
    expect(Buffer.from(await file.arrayBuffer()).equals(pdf)).toBe(true);
    // HTML from a supplier never runs on the API's origin.
    const html = await fetch(`${stack.baseUrl}${message.attachments[1].url}`, {
      headers: { authorization: `Bearer ${stack.company.tokens.erin}` },
    });
    expect(html.headers.get('content-type')).toBe('application/octet-stream');
    const missing = await stack.api('GET', `/api/v1/invoices/${id}/messages/${message.id}/attachments/3`, { as: 'erin' });
    expect(missing.status).toBe(404);

    const events = await stack.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.invoiceId, id), eq(auditEvents.kind, 'supplier_reply')));
    expect(events).toHaveLength(1);
    expect(events[0]!.message).toBe('Answer from Jane Supplier <jane@supplier.example>: Re: order number for your invoice (2 attachments)');
    // The workflow was told (once): its own record of the answer reaches the audit trail.
    const told = await waitFor(
      () =>
        stack.database.db
          .select()
          .from(auditEvents)
          .where(and(eq(auditEvents.invoiceId, id), eq(auditEvents.kind, 'supplierReplied'))),
      (rows) => rows.length >= 1,
    );
    expect(told).toHaveLength(1);
  });

  it('forged and expired reply tokens are dropped and nothing is stored; other recipients are refused', async () => {
    const id = await intake();
    const valid = replyAddressFor(id, new Date(), TEST_REPLY_ADDRESSING);
    // The same invoice and expiry, another signature.
    const forged = valid.replace(/\.([A-Za-z0-9_-]{22})@/, (_m, sig: string) => `.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}@`);
    const expired = replyAddressFor(id, new Date(Date.now() - 61 * 86_400_000), TEST_REPLY_ADDRESSING);
    expect(invoiceOfReplyAddress(forged, new Date(), TEST_REPLY_ADDRESSING)).toEqual({ refused: 'the token is forged' });
    expect(invoiceOfReplyAddress(expired, new Date(), TEST_REPLY_ADDRESSING)).toEqual({ refused: 'the token has expired' });

    // Accepted at SMTP level (a forger learns nothing), then dropped.
    await sendAnswer({ to: forged, subject: 'forged', messageId: `<forged-${id}@evil.example>` });
    await sendAnswer({ to: expired, subject: 'expired', messageId: `<expired-${id}@supplier.example>` });
    // Refused at RCPT: not a reply address, or another domain.
    await expect(sendAnswer({ to: `someone@${TEST_REPLY_ADDRESSING.domain}` })).rejects.toMatchObject({ responseCode: 550 });
    await expect(sendAnswer({ to: valid.replace(/@.*$/, '@elsewhere.example') })).rejects.toMatchObject({ responseCode: 550 });

    // The company's audit trail says a mail naming the invoice was dropped, for each.
    const dropped = await waitFor(
      () =>
        stack.database.db
          .select()
          .from(auditEvents)
          .where(and(eq(auditEvents.companyId, stack.company.companyId), eq(auditEvents.kind, 'supplier_reply_dropped'))),
      (rows) => rows.filter((r) => r.data.invoiceId === id).length === 2,
    );
    expect(dropped.filter((r) => r.data.invoiceId === id).map((r) => [r.invoiceId, r.data.reason])).toEqual(
      expect.arrayContaining([
        [null, 'the token is forged'],
        [null, 'the token has expired'],
      ]),
    );
    expect(await stack.database.db.select().from(invoiceMessages).where(eq(invoiceMessages.invoiceId, id))).toEqual([]);
    expect((await messagesOf(id)).body.items).toEqual([]);
  });

  it('a message over 10 MB is refused', async () => {
    const id = await intake();
    const to = replyAddressFor(id, new Date(), TEST_REPLY_ADDRESSING);
    await expect(
      sendAnswer({ to, attachments: [{ filename: 'huge.bin', content: Buffer.alloc(8 * 1024 * 1024, 7) }] }),
    ).rejects.toMatchObject({ responseCode: 552 });
    expect(await stack.database.db.select().from(invoiceMessages).where(eq(invoiceMessages.invoiceId, id))).toEqual([]);
  });
});

describe('the outbox dispatcher', () => {
  it('delivers a supplier reminder to whom the question went, with the reply address, and a clerk notice to the clerks', async () => {
    const id = await intake();
    const [invoice] = await stack.database.db.select().from(invoices).where(eq(invoices.id, id));
    const questionReplyTo = replyAddressFor(id, new Date(), TEST_REPLY_ADDRESSING);
    // The question, as a start rule queues it: rendered, to the supplier's contact from the document.
    await stack.database.db.insert(mailOutbox).values({
      companyId: stack.company.companyId,
      invoiceId: id,
      key: `test:${id}:question`,
      kind: 'supplier',
      toAddresses: ['orders@supplier.example'],
      subject: `Invoice ${invoice!.invoiceNumber}: which order?`,
      body: 'Please tell us the order number.\n',
      replyTo: questionReplyTo,
    });
    const question = await waitFor(
      async () => smtp.messages.filter((m) => m.to.includes('orders@supplier.example') && subject(m.raw).includes(invoice!.invoiceNumber)),
      (m) => m.length === 1,
    );
    expect(header(question[0]!.raw, 'Reply-To')).toBe(questionReplyTo);

    await stack.database.db.insert(mailOutbox).values([
      { companyId: stack.company.companyId, invoiceId: id, key: `test:${id}:supplier-reminder`, kind: 'supplier_reminder', taskId: 't-1' },
      {
        companyId: stack.company.companyId,
        invoiceId: id,
        key: `test:${id}:clerk-notice`,
        kind: 'clerk_notice',
        taskId: 't-1',
        toUsers: [stack.company.users.alice!],
      },
    ]);
    const reminder = await waitFor(
      async () =>
        smtp.messages.filter(
          (m) => m.to.includes('orders@supplier.example') && subject(m.raw).startsWith('Reminder: we are still waiting'),
        ),
      (m) => m.length === 1,
    );
    expect(subject(reminder[0]!.raw)).toBe(`Reminder: we are still waiting for your answer about invoice ${invoice!.invoiceNumber}`);
    expect(reminder[0]!.text).toContain('> Please tell us the order number.');
    const replyTo = header(reminder[0]!.raw, 'Reply-To');
    expect(invoiceOfReplyAddress(replyTo, new Date(), TEST_REPLY_ADDRESSING)).toEqual({ invoiceId: id });
    expect(header(reminder[0]!.raw, 'Auto-Submitted')).toBe('auto-generated');

    const notice = await waitFor(
      async () => smtp.messages.filter((m) => m.to.includes(`alice@${slug()}.example`) && subject(m.raw).includes(invoice!.invoiceNumber)),
      (m) => m.length === 1,
    );
    expect(subject(notice[0]!.raw)).toBe(`No answer from Paper & Pens Ltd about invoice ${invoice!.invoiceNumber}: please take it up`);

    // Both mails to the supplier are on the invoice; every mail is in its audit trail.
    const listed = await waitFor(
      () => messagesOf(id),
      (r) => r.body.items.length === 2,
    );
    expect(listed.body.items.map((m: { direction: string; to: string }) => [m.direction, m.to])).toEqual([
      ['out', 'orders@supplier.example'],
      ['out', 'orders@supplier.example'],
    ]);
    const kinds = (await stack.database.db.select().from(auditEvents).where(eq(auditEvents.invoiceId, id))).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['supplier_email', 'supplier_reminder_email', 'clerk_notice_email']));
  });

  it('a mail with nobody to send it to is recorded as not sent and not tried again', async () => {
    const [vendor] = await stack.database.db
      .insert(vendors)
      .values({ companyId: stack.company.companyId, name: `No mail ${randomBytes(3).toString('hex')}` })
      .returning();
    const id = await intake({ vendor: { id: vendor!.id } });
    await stack.database.db.insert(mailOutbox).values({
      companyId: stack.company.companyId,
      invoiceId: id,
      key: `test:${id}:supplier-reminder`,
      kind: 'supplier_reminder',
      taskId: 't-1',
    });
    const [row] = await waitFor(
      () =>
        stack.database.db
          .select()
          .from(mailOutbox)
          .where(eq(mailOutbox.key, `test:${id}:supplier-reminder`)),
      (rows) => rows[0]!.attempts > 0,
    );
    expect(row).toMatchObject({ sentAt: null, attempts: 1, lastError: 'no address to send it to', nextAttemptAt: GIVEN_UP });
    const [event] = await stack.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.invoiceId, id), eq(auditEvents.kind, 'supplier_reminder_email_not_sent')));
    expect(event!.message).toBe('Reminder to the supplier not sent: no address to send it to');
  });
});

describe('the development mail catcher', () => {
  it('keeps what the worker sends, shown at /dev/mail on the API', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'invoiceflow-dev-mail-'));
    const catcher = await startDevMailCatcher({ dir });
    try {
      const transport = nodemailer.createTransport(catcher.url);
      await transport.sendMail({
        from: 'invoiceflow <invoiceflow@localhost>',
        to: 'bob@example.test',
        subject: 'Reminder: <b>invoice</b> waits',
        text: 'Invoice A-1 waits for you.',
      });
      transport.close();
      const app = createApp({
        database: stack.database,
        temporal: stack.temporal,
        logger: createLogger('dev-mail-test', 'silent'),
        devMailDir: dir,
      });
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      try {
        const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/dev/mail`);
        expect(res.status).toBe(200);
        const page = await res.text();
        expect(page).toContain('<h2>Reminder: &lt;b&gt;invoice&lt;/b&gt; waits</h2>');
        expect(page).toContain('bob@example.test');
        expect(page).toContain('Invoice A-1 waits for you.');
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    } finally {
      await catcher.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the past-due digest', () => {
  const DAY = '2025-06-01';

  async function runDigest(day: string) {
    return stack.temporal.workflow.execute('pastDueRemindersWorkflow', {
      taskQueue: TASK_QUEUE,
      workflowId: `past-due-test-${randomBytes(4).toString('hex')}`,
      args: [{ day }],
    }) as Promise<{ users: number; queued: number }>;
  }

  it('is a daily Temporal Schedule', async () => {
    await ensureSchedules(stack.temporal, 5);
    const described = await stack.temporal.schedule.getHandle(PAST_DUE_SCHEDULE).describe();
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'pastDueRemindersWorkflow', taskQueue: TASK_QUEUE });
    expect(described.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 7, end: 7, step: 1 }] });
  });

  it('sends each approver one mail a day listing their past-due invoices; confidential ones only to the cleared', async () => {
    const gina = await addUser(stack, 'gina', { roles: ['approver'], limit: null, confidential: true });
    const ids: string[] = [];
    for (const dueDate of ['2025-01-10', '2025-02-10', '2025-03-10']) {
      const id = await intake({ invoiceDate: '2024-12-01', dueDate });
      await stack.api('POST', `/api/v1/invoices/${id}/actions/approve`, { as: 'alice', body: {} });
      await stack.api('POST', `/api/v1/invoices/${id}/actions/approve`, { as: 'bob', body: {} });
      await waitForStage(stack, id, 'approval');
      ids.push(id);
    }
    // The third becomes confidential and is also gina's to approve (she is cleared; carol and dave are not).
    const [confidential] = await stack.database.db.update(invoices).set({ confidential: true }).where(eq(invoices.id, ids[2]!)).returning();
    const [task] = await stack.database.db
      .select()
      .from(tasks)
      .where(and(eq(tasks.invoiceId, ids[2]!), eq(tasks.state, 'open')));
    await stack.database.db
      .insert(taskUsers)
      .values({ userId: gina, taskId: task!.id, relation: 'assignee', invoiceId: ids[2]!, state: 'open', openedAt: task!.openedAt });

    const first = await runDigest(DAY);
    expect(first.queued).toBeGreaterThanOrEqual(3);
    const second = await runDigest(DAY);
    expect(second.queued).toBe(0);

    const keys = ['carol', 'dave', 'gina'].map((n) => `digest:${stack.company.users[n]}:${DAY}`);
    await waitFor(
      () =>
        stack.database.db
          .select()
          .from(mailOutbox)
          .where(and(inArray(mailOutbox.key, keys), isNull(mailOutbox.sentAt))),
      (rows) => rows.length === 0,
    );
    const numbers = await Promise.all(
      ids.map(async (id) => (await stack.database.db.select().from(invoices).where(eq(invoices.id, id)))[0]!.invoiceNumber),
    );
    const digestsTo = (name: string) =>
      smtp.messages.filter(
        (m) =>
          m.to.includes(`${name}@${slug()}.example`) &&
          subject(m.raw) === `Past due: ${name === 'gina' ? 1 : 2} invoice(s) wait for you (${DAY})`,
      );
    for (const name of ['carol', 'dave']) {
      const mails = digestsTo(name);
      expect(mails).toHaveLength(1);
      expect(mails[0]!.text).toContain(`- ${numbers[0]} from Paper & Pens Ltd: 1250.00 EUR, due 2025-01-10, waiting in approval`);
      expect(mails[0]!.text).toContain(`- ${numbers[1]} from Paper & Pens Ltd: 1250.00 EUR, due 2025-02-10, waiting in approval`);
      expect(mails[0]!.text).not.toContain(confidential!.invoiceNumber);
      // Oldest due first.
      expect(mails[0]!.text.indexOf(numbers[0]!)).toBeLessThan(mails[0]!.text.indexOf(numbers[1]!));
    }
    expect(digestsTo('gina')).toHaveLength(1);
    expect(digestsTo('gina')[0]!.text).toContain(confidential!.invoiceNumber);
    // Recorded in the company's audit trail, not on any one invoice.
    const [event] = await stack.database.db.select().from(auditEvents).where(eq(auditEvents.eventKey, keys[0]!));
    expect(event).toMatchObject({ companyId: stack.company.companyId, invoiceId: null, kind: 'digest_email' });
  });
});
