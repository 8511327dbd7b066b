/** The chaos run's markdown: faults with recovery times, then the verdict and every finding. */
import type { ProcessExit } from '../bench/batch-speed';
import type { CallRecord } from './client';
import type { MailFinding, Verdict } from './checks';
import { FAULT_KINDS, PATHS, type FaultKind } from './config';
import { FAULT_LABEL, type FaultRecord } from './faults';
import type { StampedMail } from './rig';

export interface Observations {
  faults: FaultRecord[];
  calls: CallRecord[];
  /** Run clock (ms) of each 201 from intake. */
  intakesAt: number[];
  /** Run clock (ms) whenever a workflow wrote a new state to Postgres (the sum of workflow_seq grew). */
  progressAt: number[];
  received: StampedMail[];
  unexpectedExits: ProcessExit[];
  /** What a worker or API process wrote to stderr before it died on its own. */
  processDeaths: string[];
  /** The worker's warnings and errors by message. */
  workerLog: Record<string, number>;
  /** When a worker process was ready (logged "worker started"), run clock. */
  workerStartsAt: number[];
  /** Errors the API logged for its 500s, by route and message. */
  apiErrors: Record<string, number>;
  dropped: number;
  notStartedAnswers: number;
  sticky503: number;
  /** Scenarios still under way when the load's drain limit passed. */
  unfinished: number;
  loadMs: number;
  /** Date.now() when the load started: maps database times onto the run clock. */
  epochAtLoadStart: number;
}

/**
 * What happened at `at` counts for the fault whose window (start to 5 s after its end) holds it;
 * where windows overlap, a dependency the API uses (Postgres, Temporal) before the worker before
 * SMTP, then the fault that began last.
 */
const GRACE_MS = 5000;
const WEIGHT: Record<FaultKind, number> = { postgres: 3, temporal: 3, worker: 2, smtp: 1 };

export function faultAt(faults: FaultRecord[], from: number, to = from): FaultRecord | undefined {
  return faults
    .filter((f) => to >= f.start && from <= f.end + GRACE_MS)
    .sort((a, b) => WEIGHT[b.kind] - WEIGHT[a.kind] || b.start - a.start)[0];
}

/** The fault a request met: one whose window overlaps the request, from its start to its answer. */
const metBy = (faults: FaultRecord[], c: CallRecord) => faultAt(faults, c.at, c.at + c.ms);

/** The most frequent first. */
const byCount = (counts: Record<string, number>) => Object.entries(counts).sort((a, b) => b[1] - a[1]);

const s = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(1));
const firstAfter = (times: number[], t: number) => {
  const next = times.filter((x) => x >= t).sort((a, b) => a - b)[0];
  return next === undefined ? undefined : next - t;
};

/** Process deaths the suite has traced to reported bugs (each recovered by the restart policy). */
export const KNOWN_DEATHS: { id: string; title: string; pattern: RegExp }[] = [
  {
    id: 'postgres-js-null-socket',
    title:
      'a worker or API process crashes when Postgres shuts down: postgres.js 3.4.9 writes to a closed socket in nextWrite (porsager/postgres#1154, #1208)',
    pattern: /Cannot read properties of null \(reading 'write'\).*nextWrite/,
  },
  {
    id: 'postgres-js-unhandled-connection-closed',
    title:
      'a worker or API process dies of an unhandled rejection (postgres.js CONNECTION_CLOSED, no application frame) when Postgres shuts down',
    pattern: /uncaught Error: write CONNECTION_CLOSED/,
  },
  {
    id: 'worker-start-error-masked',
    title:
      "a worker whose start fails (a dependency down) exits with IllegalStateError from closing its connection in main()'s finally, which hides the real error",
    pattern: /IllegalStateError: Cannot close connection while Workers hold a reference/,
  },
];

export const knownDeath = (death: string) => KNOWN_DEATHS.find((k) => k.pattern.test(death));

/** Worker or API deaths not traced to a known bug (and exits whose cause nobody logged). */
export function unexplainedDeaths(o: Observations): string[] {
  const unexplained = o.processDeaths.filter((d) => !knownDeath(d));
  const silent = o.unexpectedExits.length - o.processDeaths.length;
  return [...unexplained, ...(silent > 0 ? [`${silent} exit(s) with no cause logged`] : [])];
}

export function serverErrors(calls: CallRecord[]): CallRecord[] {
  return calls.filter((c) => c.status >= 500);
}

/**
 * Seconds from a fault's end (the dependency back; for the worker, the new process started) until
 * the stack did that dependency's work again: the first workflow state written to Postgres (worker,
 * Temporal), the first intake answered 201 and the first state written, whichever is later
 * (Postgres), the last mail that waited delivered (SMTP).
 */
export function recoveryMs(f: FaultRecord, o: Observations, v: Verdict): number | undefined {
  if (f.kind === 'smtp') {
    const waiting = v.mails.all.filter((m) => Date.parse(m.queuedAt) - o.epochAtLoadStart < f.end && !(m.receivedAt[0]! < f.start));
    if (waiting.length === 0) return 0;
    const last = Math.max(...waiting.map((m) => m.receivedAt[0] ?? Infinity));
    return Number.isFinite(last) ? Math.max(0, last - f.end) : undefined;
  }
  const progress = firstAfter(o.progressAt, f.end);
  if (f.kind !== 'postgres') return progress;
  const intake = firstAfter(o.intakesAt, f.end);
  return progress === undefined || intake === undefined ? undefined : Math.max(progress, intake);
}

/** A later fault of a kind that holds this one's recovery up, begun before it was over: its recovery time includes that one's. */
function overlapped(f: FaultRecord, o: Observations, v: Verdict): string {
  const r = recoveryMs(f, o, v);
  const holdsUp = (g: FaultRecord) => (f.kind === 'smtp' ? g.kind === 'smtp' : g.kind !== 'smtp');
  const later = o.faults.filter((g) => g !== f && holdsUp(g) && g.start > f.end && (r === undefined || g.start < f.end + r));
  return later.length > 0 ? ` (includes ${later.map((g) => `${g.kind} #${g.n}`).join(', ')})` : '';
}

/** The table the issue asks for, in one row. */
function summary(o: Observations, v: Verdict): string {
  const fiveXX = serverErrors(o.calls);
  const count = (kind: string) => o.faults.filter((f) => f.kind === kind).length;
  const accepted = PATHS.reduce((n, p) => n + v.byPath[p].accepted, 0);
  const recovery = [...o.faults]
    .sort((a, b) => a.start - b.start)
    .map((f) => `${f.kind} #${f.n}: ${s(recoveryMs(f, o, v))}${overlapped(f, o, v)}`)
    .join(', ');
  return [
    '| faults injected | invoices | lost | double-posted | mails lost | mails duplicated | 5xx (500 / 503 with Retry-After / other) | time to recover after each fault (s) |',
    '|---|---:|---:|---:|---:|---:|---|---|',
    `| ${FAULT_KINDS.map((k) => `${k} ×${count(k)}`).join(', ')} | ${accepted} | ${v.lost.length + v.stuck.length} | ${v.doublePosted.length + v.doubleIntake.length} | ${v.mails.lost.length} | ${v.mails.duplicated.reduce((n, d) => n + d.receivedAt.length - 1, 0)} | ${fiveXX.length} (${fiveXX.filter((c) => c.status === 500).length} / ${fiveXX.filter((c) => c.status === 503 && c.retryAfter !== undefined).length} / ${fiveXX.filter((c) => c.status !== 500 && !(c.status === 503 && c.retryAfter !== undefined)).length}) | ${recovery} |`,
    '',
    '"lost" counts invoices accepted (201) that have no row or workflow, or did not reach their expected stage; "mails duplicated" counts extra copies received. Recovery: from the dependency being back to the first workflow state written to Postgres (worker, Temporal; for Postgres also the first intake answered 201), for SMTP until the last mail that waited arrived.',
  ].join('\n');
}

export function markdown(title: string, o: Observations, v: Verdict): string {
  const out: string[] = [];
  const line = (x = '') => out.push(x);
  const fiveXX = serverErrors(o.calls);
  const by500 = fiveXX.filter((c) => c.status === 500);
  const no503RetryAfter = o.calls.filter((c) => c.status === 503 && c.retryAfter === undefined);

  line(`## ${title}`);
  line();
  line(summary(o, v));
  line();
  line('### Faults and recovery');
  line();
  line(
    'Times in seconds from the start of the load. "Down" runs from the fault to the dependency being back (for the worker: the new process started). Recovery is measured from that moment: the new worker polling (it bundles the workflows at start), the first intake answered 201, the first workflow state written to Postgres; for SMTP, how many mails waited and when the last of them arrived. A request counts for a fault whose window (from the fault to 5 s after it) it overlaps, from its start to its answer: Postgres or Temporal before the worker before SMTP, then the latest.',
  );
  line();
  line(
    '| # | fault | at s | down s | new worker polling after s | first intake 201 after s | first workflow progress after s | SMTP backlog: mails, all delivered after s | 5xx in window | no answer in window |',
  );
  line('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  const queuedAt = (m: MailFinding) => Date.parse(m.queuedAt) - o.epochAtLoadStart;
  const backlog = (f: FaultRecord) => {
    // Mails queued before SMTP came back and not received before it went away.
    const waiting = [...v.mails.all].filter((m) => queuedAt(m) < f.end && !(m.receivedAt[0]! < f.start));
    const last = Math.max(...waiting.map((m) => m.receivedAt[0] ?? Infinity));
    return waiting.length === 0 ? 'none' : `${waiting.length}, ${Number.isFinite(last) ? s(last - f.end) : 'NOT all'}`;
  };
  const faults = [...o.faults].sort((a, b) => a.start - b.start);
  faults.forEach((f, i) => {
    const inWindow = (c: CallRecord) => metBy(o.faults, c) === f;
    line(
      `| ${i + 1} | ${FAULT_LABEL[f.kind]} #${f.n}${f.error ? ` (error: ${f.error})` : ''} | ${s(f.start)} | ${s(f.end - f.start)} | ${f.kind === 'worker' ? s(firstAfter(o.workerStartsAt, f.end)) : '-'} | ${s(firstAfter(o.intakesAt, f.end))} | ${s(firstAfter(o.progressAt, f.end))} | ${f.kind === 'smtp' ? backlog(f) : '-'} | ${fiveXX.filter(inWindow).length} | ${o.calls.filter((c) => c.status === 0 && inWindow(c)).length} |`,
    );
  });
  line();
  line('### Outcome');
  line();
  const count = (kind: string) => o.faults.filter((f) => f.kind === kind).length;
  const paths = PATHS.map((p) => `${p} ${v.byPath[p].accepted}/${v.byPath[p].submitted}`).join(', ');
  const reached = PATHS.map((p) => `${p} ${v.byPath[p].reached}`).join(', ');
  const rows: [string, string][] = [
    ['faults injected', FAULT_KINDS.map((k) => `${k} ×${count(k)}`).join(', ')],
    [
      'load',
      `${s(o.loadMs)} s; ${o.calls.length} API requests; arrivals dropped (too many in flight): ${o.dropped}; scenarios unfinished at the drain limit: ${o.unfinished}`,
    ],
    ['invoices accepted/submitted (by path)', paths],
    ['invoices where the load left them (posted; reminder: review)', reached],
    ['settled after the load (s)', v.settledAfterMs === undefined ? 'NOT within the deadline' : s(v.settledAfterMs)],
    ['lost (accepted, no row or no workflow)', String(v.lost.length)],
    [
      'stuck (not where the load left them)',
      `${v.stuck.length}${
        v.stuck.some((t) => t.knownBug)
          ? ` (of which known bugs: ${v.stuck
              .filter((t) => t.knownBug)
              .map((t) => t.knownBug)
              .join(', ')})`
          : ''
      }`,
    ],
    ['client gave up (a request failed past its deadline)', String(v.clientErrors.length)],
    ['double intake (one number, several rows)', String(v.doubleIntake.length)],
    ['double-posted (more than one journal)', String(v.doublePosted.length)],
    ['posted without exactly one journal', String(v.postedWithoutJournal.length)],
    ['journals / unbalanced or not equal to gross', `${v.journals} / ${v.unbalanced.length}`],
    [
      'agreement totals exact',
      v.agreements.map((a) => `${a.exact ? 'yes' : 'NO'} (${a.total} = ${a.matched}, ${a.matches} matches)`).join('; ') || '-',
    ],
    ['touchless invoices not matched exactly once', String(v.matchesOff.length)],
    ['task mails (outbox rows) / delivered', `${v.mails.rows} / ${v.mails.delivered}`],
    ['mails lost', String(v.mails.lost.length)],
    [
      'mails duplicated (extra copies)',
      `${v.mails.duplicated.length} (${v.mails.duplicated.reduce((n, d) => n + d.receivedAt.length - 1, 0)})`,
    ],
    ['reminder or escalation never queued', String(v.mails.missingRows.length)],
    ['mails received that match no outbox row', String(v.mails.unmatched)],
    ['5xx answers (500 / other)', `${fiveXX.length} (${by500.length} / ${fiveXX.length - by500.length})`],
    ['503 without Retry-After', String(no503RetryAfter.length)],
    ['failed/terminated/timed-out workflows', String(v.badWorkflows.length)],
    [
      'worker or API exits on their own (restarted a second later)',
      o.unexpectedExits.map((e) => `${e.entry} (${e.signal ?? `code ${e.code}`})`).join(', ') || '0',
    ],
    ['actions answered 409 "finished" before the workflow started', String(o.notStartedAnswers)],
    ['actions whose Idempotency-Key kept answering the same 503', String(o.sticky503)],
  ];
  line('| | |');
  line('|---|---|');
  for (const [k, val] of rows) line(`| ${k} | ${val} |`);

  if (fiveXX.length > 0) {
    line();
    line('### 5xx by route');
    line();
    line('| route | status | code | count | during | first at s |');
    line('|---|---:|---|---:|---|---:|');
    const groups = new Map<string, CallRecord[]>();
    for (const c of fiveXX) {
      const during = metBy(o.faults, c);
      const key = `${c.route}|${c.status}|${c.code ?? '-'}|${during ? during.kind : 'no fault'}`;
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    for (const [key, cs] of [...groups.entries()].sort((a, b) => b[1].length - a[1].length)) {
      const [route, status, code, during] = key.split('|');
      line(`| ${route} | ${status} | ${code} | ${cs.length} | ${during} | ${s(cs[0]!.at)} |`);
    }
  }
  if (Object.keys(o.apiErrors).length > 0) {
    line();
    line('### What the API logged for its 500s');
    line();
    line('| route: error | count |');
    line('|---|---:|');
    for (const [k, n] of byCount(o.apiErrors).slice(0, 20)) line(`| ${k.replace(/\|/g, '\\|')} | ${n} |`);
  }
  const h = v.history;
  line();
  line(`### What the ${h.workflows} invoice histories say`);
  line();
  line('| event | count |');
  line('|---|---:|');
  line(`| activity retries (attempts after the first) | ${h.activityRetries} |`);
  line(`| activity start-to-close timeouts (a killed worker's activities) | ${h.activityTimeouts} |`);
  for (const [k, n] of byCount(h.activityFailures).slice(0, 10))
    line(`| activity gave up after its retries: ${k.replace(/\|/g, '\\|')} | ${n} |`);
  line(`| workflow task timeouts | ${h.workflowTaskTimeouts} |`);
  for (const [k, n] of byCount(h.workflowTaskFailures).slice(0, 10)) line(`| workflow task failed, ${k.replace(/\|/g, '\\|')} | ${n} |`);
  if (Object.keys(o.workerLog).length > 0) {
    line();
    line('### What the worker logged (warnings and errors)');
    line();
    line('| message | count |');
    line('|---|---:|');
    for (const [k, n] of byCount(o.workerLog).slice(0, 15)) line(`| ${k.replace(/\|/g, '\\|')} | ${n} |`);
  }
  const noAnswer = o.calls.filter((c) => c.status === 0);
  if (noAnswer.length > 0) {
    line();
    line('### Requests without an answer (client timeout or connection error)');
    line();
    line('| route | error | count | during |');
    line('|---|---|---:|---|');
    const groups = new Map<string, number>();
    for (const c of noAnswer) {
      const during = metBy(o.faults, c);
      const key = `${c.route}|${(c.message ?? '').slice(0, 80)}|${during ? during.kind : 'no fault'}`;
      groups.set(key, (groups.get(key) ?? 0) + 1);
    }
    for (const [key, n] of [...groups.entries()].sort((a, b) => b[1] - a[1])) {
      const [route, error, during] = key.split('|');
      line(`| ${route} | ${error} | ${n} | ${during} |`);
    }
  }
  if (v.stuck.length > 0) {
    line();
    line('### Stragglers');
    line();
    line('| path | invoice | expected | stage | open task | BlockedOn | workflow | last audit entries | known bug |');
    line('|---|---|---|---|---|---|---|---|---|');
    const cell = (x: string) => x.replace(/\|/g, '\\|').replace(/\n/g, ' ');
    for (const t of v.stuck.slice(0, 30))
      line(
        `| ${t.path} | ${t.invoiceNumber} (${t.id}) | ${t.expected} | ${t.stage} | ${t.openTask} | ${t.blockedOn} | ${cell(t.workflow)} | ${cell(t.lastAudit.slice(0, 300))} | ${t.knownBug ?? '-'} |`,
      );
  }
  if (v.mails.duplicated.length > 0 || v.mails.lost.length > 0) {
    line();
    line('### Mails lost or duplicated');
    line();
    line(
      'A duplicate is at-least-once delivery by design: the dispatcher marks a mail sent after the SMTP server accepted it, in the same transaction that locked the row; a fault between the two (worker killed, Postgres stopped) rolls the mark back and the mail goes again, with the same Message-ID (a mail client shows it once). Each duplicate below names the fault around its first copy.',
    );
    line();
    line('| mail | copies | first copy at s | fault around the first copy | sent_at | attempts | last error |');
    line('|---|---:|---:|---|---|---:|---|');
    for (const m of [...v.mails.lost, ...v.mails.duplicated].slice(0, 40)) {
      const first = m.receivedAt[0];
      const fault = first === undefined ? undefined : faultAt(o.faults, first);
      line(
        `| ${m.key} | ${m.receivedAt.length} | ${s(first)} | ${fault ? `${fault.kind} #${fault.n}` : '-'} | ${m.sentAt ? 'set' : 'NOT set'} | ${m.attempts} | ${(m.lastError ?? '').slice(0, 80).replace(/\|/g, '\\|')} |`,
      );
    }
  }
  const other: string[] = [
    ...o.processDeaths.map((d) => `process died: ${d}`),
    ...v.lost.map((l) => `lost: ${l.invoiceNumber}: ${l.why}`),
    ...v.clientErrors.slice(0, 20).map((c) => `client gave up: ${c.invoiceNumber}: ${c.error.slice(0, 300)}`),
    ...v.doubleIntake.map((d) => `double intake: ${d.invoiceNumber} has ${d.rows} rows`),
    ...v.doublePosted.map((d) => `double-posted: invoice ${d.id} has ${d.entries} journal entries`),
    ...v.unbalanced.map((u) => `journal ${u.entryId}: debit ${u.debit}, credit ${u.credit}, gross ${u.gross}`),
    ...v.matchesOff.map((m) => `touchless ${m.invoiceNumber}: ${m.matches} agreement matches`),
    ...v.mails.missingRows.map((n) => `no reminder/escalation queued for ${n}`),
    ...v.badWorkflows.map((w) => `workflow ${w.workflowId}: ${w.status}`),
  ];
  if (other.length > 0) {
    line();
    line('### Other findings');
    line();
    for (const x of other) line(`- ${x}`);
  }
  return out.join('\n');
}
