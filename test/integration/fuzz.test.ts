/**
 * Fuzz suite (issue 13, item 4): mutations of valid JSON and UBL invoices (fields removed,
 * duplicated, retyped, oversized, unicode edge cases, numbers at the edges) sent to the real API.
 * For every case: never a 5xx; every refusal has the error shape; a refused intake leaves no row
 * behind (its company's invoices, vendors, lines, documents and intake audit rows); an
 * accepted one reads back through GET as sent and breaks no rule a stored invoice keeps.
 *
 * FUZZ_RUNS sets the number of cases (default 2,000); FUZZ_SEED replays a run (every failure
 * prints the seed).
 */
import { randomBytes } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import fc from 'fast-check';
import { invoices, tasks } from '../../db/schema';
import { seedCompany, type SeededCompany } from '../../db/seed';
import {
  DIGITS,
  jsonCase,
  jsonText,
  ublCase,
  ublDocument,
  ublExpectation,
  ublTemplate,
  wellFormed,
  xmlText,
  type UblExpectation,
} from '../fuzz-inputs';
import { startStack, waitFor, type Stack } from '../harness';

const TOTAL = Number.parseInt(process.env.FUZZ_RUNS ?? '', 10) || 2_000;
const SEED = process.env.FUZZ_SEED ? Number.parseInt(process.env.FUZZ_SEED, 10) : Math.floor(Math.random() * 2 ** 31);
/** Shares of the cases: refusals are fast; an accepted intake starts a workflow and costs ten times more. */
const SHARE = { json: 0.565, ubl: 0.42, valid: 0.015 } as const;
const runs = (p: keyof typeof SHARE) => Math.max(1, Math.round(SHARE[p] * TOTAL));
/** Time for a property: well above what its cases take, with room to shrink a failure. */
const timeout = (p: keyof typeof SHARE) => 60_000 + runs(p) * 150;

/**
 * Cases run in lanes side by side (the API waits on Postgres most of the time), each lane
 * sending as a company of its own, so that its row counts change only through its own intakes.
 */
const LANES = 4;
interface Lane {
  company: SeededCompany;
  counts: Rows;
}

/** Runs a property in every lane (lane i with seed SEED + i); a failure names the seed to replay it with. */
async function check<T>(arbitrary: fc.Arbitrary<T>, predicate: (lane: Lane, value: T) => Promise<void>, numRuns: number): Promise<void> {
  const results = await Promise.allSettled(
    lanes.map(async (lane, i) => {
      try {
        const share = Math.floor(numRuns / LANES) + (i < numRuns % LANES ? 1 : 0);
        if (share > 0)
          await fc.assert(
            fc.asyncProperty(arbitrary, (v) => predicate(lane, v)),
            { numRuns: share, seed: SEED + i },
          );
      } catch (e) {
        if (e instanceof Error) e.message = `replay with FUZZ_SEED=${SEED} FUZZ_RUNS=${TOTAL} (lane ${i} of ${LANES})\n${e.message}`;
        throw e;
      }
    }),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

let stack: Stack;
let lanes: Lane[] = [];
let counter = 0;

beforeAll(async () => {
  stack = await startStack();
  lanes = await Promise.all(
    Array.from({ length: LANES }, async () => {
      const company = await seedCompany(stack.database.db, `fz${randomBytes(5).toString('hex')}`);
      return { company, counts: await rowsOf(company.companyId) };
    }),
  );
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

// ---- requests and answers ----

interface Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}
interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read freely
  body: any;
  text: string;
}

async function send(r: Request): Promise<Answer> {
  const res = await fetch(`${stack.baseUrl}${r.path}`, {
    method: r.method,
    headers: r.headers,
    ...(r.body !== undefined ? { body: r.body } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, text };
}

const clip = (s: string, n = 1500) => (s.length > n ? `${s.slice(0, n)}… (${s.length} characters)` : s);

/** A failed property, with the request and answer to reproduce it. */
function fail(what: string, r: Request, a?: Answer, found: unknown = undefined): never {
  const body = Buffer.isBuffer(r.body) ? r.body.toString('utf8') : (r.body ?? '');
  throw new Error(
    [
      what,
      `request: ${r.method} ${r.path} ${JSON.stringify({ ...r.headers, authorization: undefined })}`,
      `body: ${clip(JSON.stringify(body))}`,
      ...(a ? [`answer: ${a.status} ${clip(a.text, 800)}`] : []),
      ...(found !== undefined ? [`found: ${clip(JSON.stringify(found), 2000)}`] : []),
    ].join('\n  '),
  );
}

/** Never a 5xx, and every refusal in the one error shape; a 422 lists its problems with their paths. */
function checkAnswer(r: Request, a: Answer): void {
  if (a.status >= 500) fail(`answered ${a.status}`, r, a);
  if (a.status < 400) return;
  const e = a.body?.error;
  if (typeof e?.code !== 'string' || typeof e.message !== 'string' || !Array.isArray(e.details))
    fail('a refusal without the error shape {error: {code, message, details: []}}', r, a);
  const pathed = (d: { path?: unknown; message?: unknown }) => typeof d?.path === 'string' && typeof d.message === 'string';
  if (e.code === 'validation_failed' && !(e.details.length > 0 && e.details.every(pathed)))
    fail('a validation failure without [{path, message}] details', r, a);
}

type Rows = Record<'invoices' | 'vendors' | 'lines' | 'documents' | 'audit', number>;

/**
 * Rows of one company that an intake writes. Audit rows are those of intake's own kinds: the
 * workflows of accepted invoices write others into the same company while the cases run.
 */
async function rowsOf(companyId: string): Promise<Rows> {
  const [row] = (await stack.database.db.execute(sql`
    with mine as (select id from invoices where company_id = ${companyId})
    select
      (select count(*) from mine)::int as invoices,
      (select count(*) from vendors where company_id = ${companyId})::int as vendors,
      (select count(*) from invoice_lines where invoice_id in (select id from mine))::int as lines,
      (select count(*) from invoice_documents where invoice_id in (select id from mine))::int as documents,
      (select count(*) from audit_events where company_id = ${companyId}
         and kind in ('intake', 'vendor_created', 'intake_warning'))::int as audit
  `)) as unknown as Rows[];
  return row!;
}

// ---- what a stored invoice must look like ----

/** A decimal string's value in one spelling: no leading zeros, no trailing fraction zeros, no negative zero. */
function canonical(s: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s.trim());
  if (!m) return `not a decimal: ${s}`;
  const whole = m[2]!.replace(/^0+(?=\d)/, '');
  const fraction = (m[3] ?? '').replace(/0+$/, '');
  const zero = whole === '0' && !fraction;
  return `${m[1] && !zero ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** How Postgres writes a numeric back: leading zeros gone, the fraction as sent, no negative zero. */
function pgNumeric(s: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) return `not a decimal: ${s}`;
  const whole = m[2]!.replace(/^0+(?=\d)/, '');
  const zero = /^0+$/.test(m[2]!) && /^0*$/.test(m[3] ?? '');
  return `${m[1] && !zero ? '-' : ''}${whole}${m[3] !== undefined ? `.${m[3]}` : ''}`;
}

/** A decimal as an integer count of millionths, for exact sums. */
function micros(s: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,6}))?$/.exec(s)!;
  const v = BigInt(`${m[2]}${(m[3] ?? '').padEnd(6, '0')}`);
  return m[1] ? -v : v;
}

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
const realDate = (d: unknown) => {
  if (typeof d !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(d)) return false;
  const [y, m, day] = d.split('-').map((p) => Number.parseInt(p, 10)) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, day));
  return y >= 1900 && y <= 2999 && date.getUTCMonth() === m - 1 && date.getUTCDate() === day;
};

/** The rules every stored invoice keeps, whatever was sent (README, intake; issue 13 item 1). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the detail answer
function storedProblems(d: any): string[] {
  const problems: string[] = [];
  const text = (field: string, v: unknown, max: number, oneLine: boolean) => {
    if (v === null || v === undefined) return;
    if (typeof v !== 'string') return problems.push(`${field} is not a string`);
    if (v !== v.trim() || v.length === 0) problems.push(`${field} is not trimmed or empty: ${JSON.stringify(v)}`);
    // The schema counts characters (code points), not UTF-16 units.
    if ([...v].length > max) problems.push(`${field} is longer than ${max} characters`);
    if (CONTROL.test(v) || (oneLine && /[\r\n\t]/.test(v))) problems.push(`${field} has control characters: ${JSON.stringify(v)}`);
    return undefined;
  };
  text('invoiceNumber', d.invoiceNumber, 100, true);
  for (const f of ['buyerReference', 'orderReference', 'contractReference']) text(f, d[f], 200, true);
  text('vendor.name', d.vendor?.name, 200, true);
  if (/[<>]/.test(d.vendor?.name ?? '')) problems.push('vendor.name has markup');
  text('vendor.vatNumber', d.vendor?.vatNumber, 50, true);
  text('vendor.endpointId', d.vendor?.endpointId, 100, true);
  if (!['invoice', 'credit_note'].includes(d.documentType)) problems.push(`documentType ${d.documentType}`);
  if (!realDate(d.invoiceDate) || !realDate(d.dueDate)) problems.push(`dates ${d.invoiceDate} ${d.dueDate}`);
  else if (d.dueDate < d.invoiceDate) problems.push('due before issued');
  const digits = DIGITS[d.currency as string];
  for (const f of ['net', 'tax', 'gross']) {
    if (!/^\d+(\.\d+)?$/.test(d[f])) problems.push(`${f} ${d[f]} is not a non-negative decimal`);
    else if (digits !== undefined && (d[f].split('.')[1] ?? '').length !== digits) problems.push(`${f} ${d[f]} has not ${digits} digits`);
  }
  if (problems.some((p) => /decimal/.test(p))) return problems;
  if (micros(d.gross) <= 0n) problems.push('gross is not above zero');
  if (micros(d.net) + micros(d.tax) !== micros(d.gross)) problems.push('net plus tax is not gross');
  if (!Array.isArray(d.lines) || d.lines.length > 10_000) problems.push('lines');
  for (const [i, l] of (d.lines ?? []).entries()) {
    text(`lines.${i}.description`, l.description, 500, false);
    if (!/^-?\d+(\.\d+)?$/.test(l.quantity) || !/^-?\d+(\.\d+)?$/.test(l.unitPrice)) problems.push(`lines.${i} amounts`);
    if (!/^\d+(\.\d+)?$/.test(l.taxRate) || micros(l.taxRate) > 100_000_000n) problems.push(`lines.${i}.taxRate ${l.taxRate}`);
  }
  if (d.source?.format === 'json' && d.lines.length > 0) {
    const sum = (d.lines as { net: string }[]).reduce((s, l) => s + micros(l.net), 0n);
    if (sum !== micros(d.net)) problems.push("the lines' nets do not add up to the net");
  }
  return problems;
}

function sameText(out: string[], field: string, stored: unknown, sent: string | null | undefined): void {
  const want = typeof sent === 'string' ? sent.trim() : null;
  if (stored === want) return;
  out.push(`${field}: sent ${JSON.stringify(sent)}, stored ${JSON.stringify(stored)}`);
}

function sameAmount(out: string[], field: string, stored: string, sent: string, currency: string): void {
  const digits = DIGITS[currency];
  if (canonical(stored) !== canonical(sent) || (digits !== undefined && (stored.split('.')[1] ?? '').length !== digits)) {
    out.push(`${field}: sent ${sent}, stored ${stored} (${currency})`);
  }
}

/** Differences between a JSON invoice as sent (and accepted) and as `GET /invoices/:id` shows it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- sent body and detail answer
function jsonDifferences(sent: any, d: any, vendorId: string): string[] {
  const out: string[] = [];
  const v = sent.vendor;
  if ('id' in v) {
    if (d.vendor.id !== v.id) out.push(`vendor ${d.vendor.id} is not ${v.id}`);
  } else if ((d.audit as { kind: string }[]).some((e) => e.kind === 'vendor_created')) {
    sameText(out, 'vendor.name', d.vendor.name, v.name);
    sameText(out, 'vendor.vatNumber', d.vendor.vatNumber, v.vatNumber);
    sameText(out, 'vendor.endpointId', d.vendor.endpointId, v.endpointId);
    if (d.vendor.email !== (v.email ?? null)) out.push(`vendor.email ${d.vendor.email}`);
  } else {
    // A known vendor: found by endpoint id or VAT number, else by name.
    const byKey = v.endpointId || v.vatNumber;
    const found = byKey
      ? d.vendor.endpointId === v.endpointId?.trim() || d.vendor.vatNumber === v.vatNumber?.trim()
      : d.vendor.name.toLowerCase() === v.name.trim().toLowerCase() || d.vendor.id === vendorId;
    if (!found) out.push(`vendor ${JSON.stringify(d.vendor)} is not the vendor sent`);
  }
  if (d.documentType !== (sent.documentType ?? 'invoice')) out.push(`documentType ${d.documentType}`);
  sameText(out, 'invoiceNumber', d.invoiceNumber, sent.invoiceNumber);
  for (const f of ['invoiceDate', 'dueDate', 'currency']) if (d[f] !== sent[f]) out.push(`${f}: sent ${sent[f]}, stored ${d[f]}`);
  for (const f of ['net', 'tax', 'gross']) sameAmount(out, f, d[f], sent[f], sent.currency);
  for (const f of ['buyerReference', 'orderReference', 'contractReference']) sameText(out, f, d[f], sent[f]);
  if (d.confidential !== (sent.confidential ?? false)) out.push('confidential');
  if (d.source.format !== 'json') out.push('source');
  const lines = sent.lines ?? [];
  if (d.lines.length !== lines.length) out.push(`${d.lines.length} lines stored, ${lines.length} sent`);
  else
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- sent lines
    lines.forEach((l: any, i: number) => {
      const s = d.lines[i];
      sameText(out, `lines.${i}.description`, s.description, l.description);
      for (const f of ['quantity', 'unitPrice', 'taxRate'])
        if (s[f] !== pgNumeric(l[f])) out.push(`lines.${i}.${f}: sent ${l[f]}, stored ${s[f]}`);
      sameAmount(out, `lines.${i}.net`, s.net, l.net, sent.currency);
    });
  return out;
}

/** Differences between what a UBL document should register as and what `GET /invoices/:id` shows. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- detail answer
function ublDifferences(e: UblExpectation, d: any): string[] {
  const out: string[] = [];
  const eq = (field: string, stored: unknown, want: unknown) => {
    if (want !== undefined && stored !== want) out.push(`${field}: expected ${JSON.stringify(want)}, stored ${JSON.stringify(stored)}`);
  };
  eq('invoiceNumber', d.invoiceNumber, e.invoiceNumber);
  eq('invoiceDate', d.invoiceDate, e.invoiceDate);
  eq('dueDate', d.dueDate, e.dueDate);
  eq('currency', d.currency, e.currency);
  eq('buyerReference', d.buyerReference, e.buyerReference);
  // A supplier already known (a mutation gave two cases the same identity) is reused as it is.
  if ((d.audit as { kind: string }[]).some((a) => a.kind === 'vendor_created')) {
    eq('vendor.name', d.vendor.name, e.vendorName);
    eq('vendor.vatNumber', d.vendor.vatNumber, e.vendorVat);
  }
  for (const f of ['net', 'tax', 'gross'] as const) if (e[f] !== undefined) eq(f, canonical(d[f]), canonical(e[f]));
  eq('lines', d.lines.length, e.lines);
  if (d.source.format !== 'ubl') out.push('source');
  return out;
}

// ---- intake: one refused or accepted case ----

/**
 * Sends an intake as the lane's company. Refused: every row count as before. Accepted: one
 * invoice more (none for a replay), and `expect` finds no difference in what GET shows.
 */
async function intake(
  lane: Lane,
  r: Request,
  expect: (detail: Answer['body']) => string[],
  opts: { replay?: boolean } = {},
): Promise<Answer> {
  const before = lane.counts;
  const a = await send(r);
  checkAnswer(r, a);
  if (a.status >= 300 && a.status < 400) fail(`answered ${a.status}`, r, a);
  const counts = await rowsOf(lane.company.companyId);
  lane.counts = counts;
  if (a.status >= 400) {
    if (JSON.stringify(counts) !== JSON.stringify(before)) fail('a refused intake left rows behind', r, a, { before, after: counts });
    return a;
  }
  if (a.status !== 201) fail(`answered ${a.status}`, r, a);
  const detail = await send({ method: 'GET', path: `/api/v1/invoices/${a.body.id}`, headers: auth(lane) });
  if (detail.status !== 200) fail(`accepted, but GET answers ${detail.status}`, r, a);
  const problems = [...storedProblems(detail.body), ...expect(detail.body)];
  const added = opts.replay ? 0 : 1;
  if (counts.invoices !== before.invoices + added || counts.documents !== before.documents + added)
    problems.push(`${counts.invoices - before.invoices} invoices added`);
  if (!opts.replay && counts.lines !== before.lines + (detail.body.lines?.length ?? 0)) problems.push('lines stored otherwise');
  if (problems.length > 0) fail(`accepted, but stored otherwise: ${problems.join('; ')}`, r, a);
  return a;
}

const auth = (lane: Lane): Record<string, string> => ({ authorization: `Bearer ${lane.company.tokens.erin}` });

const post = (lane: Lane, contentType: string, body: string | Buffer, headers: Record<string, string> = {}): Request => ({
  method: 'POST',
  path: '/api/v1/invoices',
  headers: { 'content-type': contentType, ...auth(lane), ...headers },
  body,
});

const placeholders = (lane: Lane, text: string, num: string) =>
  text.replaceAll('$VENDOR', lane.company.vendorId).replaceAll('$OTHER_VENDOR', stack.company.vendorId).replaceAll('$NUM', num);

function parsed(text: string): unknown {
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    return undefined;
  }
}

describe('fuzz: intake', () => {
  it(
    'mutated JSON invoices: never a 5xx, refusals shaped and leaving no row, acceptances read back as sent',
    async () => {
      await check(
        jsonCase,
        async (lane, c) => {
          counter += 1;
          // As UTF-8 carries it: a splice through a surrogate pair arrives as U+FFFD.
          const text = wellFormed(placeholders(lane, jsonText(c), `${counter}`));
          const vendorId = lane.company.vendorId;
          const a = await intake(lane, post(lane, 'application/json', text), (d) => {
            const sent = parsed(text);
            return sent ? jsonDifferences(sent, d, vendorId) : ['accepted a body that is not JSON'];
          });
          // README, intake: 400 for malformed JSON (an empty body is read as no fields at all: 422).
          if (text.trim() !== '' && parsed(text) === undefined && a.status !== 400)
            fail('a body that is not JSON was not answered 400', post(lane, 'application/json', text), a);
        },
        runs('json'),
      );
    },
    timeout('json'),
  );

  it(
    'mutated UBL documents: never a 5xx, refusals shaped and leaving no row, acceptances read back as the document says',
    async () => {
      await check(
        ublCase,
        async (lane, c) => {
          counter += 1;
          const num = `${counter}`;
          const expected = ublExpectation(c);
          if (expected.invoiceNumber !== undefined) expected.invoiceNumber = expected.invoiceNumber.replaceAll('$NUM', num);
          if (expected.vendorVat) expected.vendorVat = expected.vendorVat.replaceAll('$NUM', num);
          await intake(lane, post(lane, 'application/xml', ublDocument(c, num)), (d) => ublDifferences(expected, d));
        },
        runs('ubl'),
      );
    },
    timeout('ubl'),
  );
});

describe('fuzz: valid invoices', () => {
  /** Text that every rule allows, with the unicode that tends to break things (no control characters, no lone surrogates). */
  const validText = (max: number) =>
    fc
      .tuple(
        fc.constantFrom('', ' ', '\u00a0'),
        fc.oneof(
          fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
          fc.constantFrom(
            '😀👩‍👩‍👧‍👦🇸🇪',
            'e\u0301\u0302\u0303',
            `Z${'\u0336'.repeat(60)}`,
            '\u200f\u05e9\u05dc\u05d5\u05dd\u200e',
            'İßﬀ',
            '\u3000中文\u3000',
            'ﷺ',
          ),
          fc.constantFrom(1, max - 1, max).map((n) => 'x'.repeat(Math.max(1, n))),
        ),
        fc.constantFrom('', ' ', '\u3000'),
      )
      .map(([a, b, c]) => `${a}${b}${c}`)
      .filter((s) => {
        const t = s.trim();
        return t.length > 0 && t.length <= max && !/[\p{Cc}\p{Zl}\p{Zp}<>\uFFFE\uFFFF]/u.test(t) && t === wellFormed(t);
      });
  const validDates = fc
    .tuple(fc.integer({ min: 1900, max: 2999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), fc.nat({ max: 400 }))
    .map(([y, m, d, days]) => {
      const issued = new Date(Date.UTC(y, m - 1, Math.min(d, new Date(Date.UTC(y, m, 0)).getUTCDate())));
      const due = new Date(Math.min(issued.getTime() + days * 86_400_000, Date.UTC(2999, 11, 31)));
      return [issued.toISOString().slice(0, 10), due.toISOString().slice(0, 10)] as const;
    });
  const validAmounts = fc
    .tuple(
      fc.constantFrom('EUR', 'JPY', 'BHD', 'CLF', 'KRW', 'SEK'),
      fc.oneof(fc.bigInt({ min: 1n, max: 10n ** 6n }), fc.bigInt({ min: 10n ** 12n, max: 9n * 10n ** 14n })),
      fc.bigInt({ min: 0n, max: 10n ** 6n }),
      fc.constantFrom('', '0', '000'),
      fc.constantFrom('', '0', '00'),
    )
    .map(([currency, net, tax, pad, lead]) => {
      const digits = DIGITS[currency]!;
      // Whole amounts keep to 15 integer digits whatever the currency's digits.
      const scale = 10n ** BigInt(digits);
      const n = net % (10n ** 14n * scale);
      const f = (minor: bigint) => {
        const whole = (minor / scale).toString();
        const fraction = digits > 0 ? (minor % scale).toString().padStart(digits, '0') : '';
        const extra = fraction.length + pad.length <= 6 ? pad : '';
        return `${whole.length + lead.length <= 15 ? lead : ''}${whole}${fraction || extra ? `.${fraction}${extra}` : ''}`;
      };
      return { currency, net: f(n), tax: f(tax), gross: f(n + tax) };
    });

  it(
    'valid invoices at the edges (unicode, lengths, dates, currencies, digits) are accepted and read back as sent',
    async () => {
      const validCase = fc.record({
        format: fc.constantFrom('json', 'json', 'json', 'ubl'),
        invoiceNumber: validText(100),
        vendorName: validText(150),
        buyerReference: fc.option(validText(200), { nil: undefined }),
        dates: validDates,
        amounts: validAmounts,
        quantity: fc.constantFrom('1', '0.000001', '999999999999999', '-0', '007', '1.500000'),
        taxRate: fc.constantFrom('0', '25', '100', '12.5', '0.0001', '100.0000', '025'),
        description: validText(500),
        documentType: fc.constantFrom('invoice', 'credit_note'),
        confidential: fc.boolean(),
        again: fc.constantFrom('none', 'none', 'none', 'duplicate', 'idempotent'),
      });
      await check(
        validCase,
        async (lane, v) => {
          counter += 1;
          const key: Record<string, string> = v.again === 'idempotent' ? { 'idempotency-key': `k-${SEED}-${counter}` } : {};
          const vendorName = `${v.vendorName.trim()} ${counter}`;
          let r: Request;
          let expect: (d: Answer['body']) => string[];
          if (v.format === 'json') {
            const body = {
              vendor: { name: vendorName },
              documentType: v.documentType,
              invoiceNumber: v.invoiceNumber,
              invoiceDate: v.dates[0],
              dueDate: v.dates[1],
              ...v.amounts,
              ...(v.buyerReference !== undefined ? { buyerReference: v.buyerReference } : {}),
              confidential: v.confidential,
              lines: [
                { description: v.description, quantity: v.quantity, unitPrice: v.amounts.net, net: v.amounts.net, taxRate: v.taxRate },
              ],
            };
            r = post(lane, 'application/json', JSON.stringify(body), key);
            expect = (d) => jsonDifferences(body, d, lane.company.vendorId);
          } else {
            const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
            const xml = ublTemplate('min')
              .replace('UBL-$NUM', () => escape(v.invoiceNumber))
              .replace('Säljbolaget AB', () => escape(vendorName))
              .replaceAll('$NUM', `${counter}`)
              .replace('2018-07-31', v.dates[0])
              .replace('<cbc:Name>Service fee</cbc:Name>', () => `<cbc:Name>${escape(v.description)}</cbc:Name>`);
            r = post(lane, 'application/xml', Buffer.from(xml), key);
            const expected: UblExpectation = {
              invoiceNumber: xmlText(v.invoiceNumber),
              invoiceDate: v.dates[0],
              dueDate: v.dates[0],
              vendorName,
              net: '400',
              tax: '100',
              gross: '500',
              lines: 1,
            };
            expect = (d) => ublDifferences(expected, d);
          }
          const a = await intake(lane, r, expect);
          if (a.status !== 201) fail('a valid invoice was refused', r, a);
          if (v.again === 'idempotent') {
            const again = await intake(lane, r, expect, { replay: true });
            if (again.status !== 201 || again.body.id !== a.body.id) fail('the Idempotency-Key did not replay', r, again);
          } else if (v.again === 'duplicate') {
            const again = await intake(lane, r, expect);
            if (again.status !== 409 || again.body.error.details[0]?.existingId !== a.body.id)
              fail('a duplicate was not answered 409 with the existing id', r, again);
          }
        },
        runs('valid'),
      );
    },
    timeout('valid'),
  );
});

// ---- defects the fuzz suite found (issue 13), fixed ----

describe('counterexamples the fuzz suite found', () => {
  const jsonBody = (changes: Record<string, unknown>) => {
    counter += 1;
    return JSON.stringify({
      ...(JSON.parse(placeholders(lanes[0]!, jsonText({ vendor: 'id', ops: [], text: null }), `${counter}`)) as object),
      ...changes,
    });
  };
  /** The minimal Peppol invoice, with every SEK replaced by `currency`. */
  const ublIn = (currency: string) => {
    counter += 1;
    return ublTemplate('min').replaceAll('$NUM', `${counter}`).replaceAll('SEK', currency);
  };
  const refusal = (a: Answer) => ({ status: a.status, paths: (a.body.error.details as { path?: string }[]).map((d) => d.path) });

  it('an invoice in MGA or MRU (currencies whose minor unit is a fifth) is refused with 422, not a 500', async () => {
    const json = await intake(
      lanes[0]!,
      post(lanes[0]!, 'application/json', jsonBody({ currency: 'MGA', net: '1000', tax: '250', gross: '1250', lines: [] })),
      () => [],
    );
    expect(refusal(json)).toMatchObject({ status: 422, paths: expect.arrayContaining(['currency']) });
    const ubl = await intake(lanes[0]!, post(lanes[0]!, 'application/xml', ublIn('MRU')), () => []);
    expect(refusal(ubl)).toMatchObject({ status: 422, paths: expect.arrayContaining(['/Invoice/cbc:DocumentCurrencyCode']) });
  });

  it('a lone surrogate (JSON "\\ud800") is refused, not stored as U+FFFD', async () => {
    const a = await intake(lanes[0]!, post(lanes[0]!, 'application/json', jsonBody({ invoiceNumber: 'A\ud800B' })), () => []);
    expect(refusal(a)).toEqual({ status: 422, paths: ['invoiceNumber'] });
  });

  it('a C1 control character (NEL, U+0085) is refused in JSON and in UBL', async () => {
    const json = await intake(lanes[0]!, post(lanes[0]!, 'application/json', jsonBody({ invoiceNumber: 'A\u0085B' })), () => []);
    expect(refusal(json)).toEqual({ status: 422, paths: ['invoiceNumber'] });
    const xml = ublIn('SEK').replace(/<cbc:ID>UBL-\d+<\/cbc:ID>/, '<cbc:ID>A&#x85;B</cbc:ID>');
    expect(refusal(await intake(lanes[0]!, post(lanes[0]!, 'application/xml', xml), () => []))).toEqual({
      status: 422,
      paths: ['/Invoice/cbc:ID'],
    });
  });

  it('a UBL invoice of 10,001 lines is answered 413 with the limit, as JSON is', async () => {
    counter += 1;
    const xml = ublDocument({ fixture: 'min', ops: [{ op: 'lines', count: 10_001 }] }, `${counter}`);
    const a = await intake(lanes[0]!, post(lanes[0]!, 'application/xml', xml), () => []);
    expect({ status: a.status, message: a.body.error.message }).toEqual({ status: 413, message: expect.stringContaining('10000') });
  });

  it('an action body with a NUL byte is refused with 422 and changes nothing (it was 200 with the stored stage left behind, or 503)', async () => {
    const lane = lanes[0]!;
    const created = await intake(lane, post(lane, 'application/json', jsonBody({})), () => []);
    const id = created.body.id as string;
    await waitFor(
      () =>
        stack.database.db
          .select()
          .from(tasks)
          .where(and(eq(tasks.invoiceId, id), eq(tasks.state, 'open'))),
      (rows) => rows.length > 0,
    );
    const act = (action: string, body: unknown) =>
      send({
        method: 'POST',
        path: `/api/v1/invoices/${id}/actions/${action}`,
        headers: { 'content-type': 'application/json', ...auth(lane) },
        body: JSON.stringify(body),
      });
    expect(refusal(await act('approve', { comment: 'ok\u0000' }))).toEqual({ status: 422, paths: ['comment'] });
    expect(refusal(await act('reject', { reason: 'no\u0085' }))).toEqual({ status: 422, paths: ['reason'] });
    expect(refusal(await act('delegate', { to: 'x\u0000y' }))).toEqual({ status: 422, paths: ['to'] });
    const [row] = await stack.database.db.select({ stage: invoices.stage }).from(invoices).where(eq(invoices.id, id));
    expect(row!.stage).toBe('new');
  });
});
