/**
 * Inputs for the fuzz suite (test/integration/fuzz.test.ts): values at the edges, and mutations of
 * a valid JSON invoice and of valid UBL documents. Mutations are plain data (applied at send
 * time), so a counterexample fast-check prints can be read and replayed.
 */
import fc from 'fast-check';
import { firstText, fixture } from './ubl-fixtures';

// ---- values at the edges ----

/** Strings that broke text handling somewhere: controls, surrogates, bidi, joiners, markup, injection. */
export const TEXT_EDGES = [
  // C0, DEL, C1 and line breaks
  ['\u0000', '\u0007', '\u001b[31m', '\u007f', '\u0085', '\u009f', '\t', '\n', '\r\n', '\r', '\u2028', '\u2029'],
  // zero width, bidi, BOM, non-characters and lone surrogates
  ['\u200b', '\u200d', '\u200e', '\u200f', '\u202e', '\u2066', '\ufeff', '\ufffd', '\uffff', '\ud800', '\udfff', '\ud83d', '\ude00\ud83d'],
  // clusters, combining marks, case folding, wide spaces, right to left
  ['😀', '👩‍👩‍👧‍👦', '🇸🇪', 'e\u0301', `Z${'\u0336'.repeat(60)}`, `a${'\u0301'.repeat(400)}`, '👍🏽'.repeat(30), 'ﷺ', 'İı', 'ß', 'ﬀ'],
  ['\u00a0', '\u3000', 'مرحبا', '<script>alert(1)</script>', '&amp;', '%00', '${x}', "'; drop table invoices; --", '\\', '"', ' ', ''],
].flat();

/** Decimal strings (and near misses) at the edges of the amount rules. */
export const NUMBER_EDGES = [
  ['0', '-0', '-0.00', '0.00', '0.000001', '0.0000001', '1e308', '1E3', '1e-7', '-1', '+5', ' 5', '5 ', '\t5', '5\n', '05', '007.50'],
  ['.5', '5.', '1,5', '1_000', '0x10', 'Infinity', 'NaN', '-', '', '9'.repeat(15), '9'.repeat(16), `${'9'.repeat(15)}.999999`],
  ['1234567890123456789', '٣', '５', '1.0000000', '1250.000000', '1250.001', '1250.00', '1000.00', '250.00'],
].flat();

export const PERCENT_EDGES = [
  ['0', '25', '100', '100.0000', '100.0001', '101', '-1', '-0', '12.5', '12.34567', '025', '1e2', 'abc', '', '1000'],
].flat();

export const DATE_EDGES = [
  // dates that do not exist, or years out of range
  ['0000-01-01', '0001-01-01', '1899-12-31', '1900-01-01', '2024-02-29', '2026-02-29', '2026-02-30', '2026-04-31', '2026-13-01'],
  ['2026-00-10', '2026-11-00', '2999-12-31', '3000-01-01', '9999-12-31', '+002026-11-01', '-002026-11-01', '2026-11-01T00:00:00Z'],
  // other spellings of a real date
  ['2026-11-1', '20261101', '11/01/2026', '2026/11/01', ' 2026-11-01', '2026-11-01 ', '２０２６-11-01', '2026-W44-1', '2026-305'],
  ['2026-11-01', '2026-12-01'],
].flat();

export const CURRENCY_EDGES = [
  ['EUR', 'eur', 'Eur', 'EURO', 'EU', '', 'XXX', 'XTS', 'ZZZ', '€', 'JPY', 'KRW', 'BHD', 'KWD', 'CLF', 'UYW', 'ISK', 'USD'],
  // padded, NUL, not ISO 4217, and not decimal (a fifth: MGA, MRU)
  [' EUR', 'EUR\u0000', 'BTC', 'MGA', 'MRU'],
].flat();

/** Minor digits of the currencies the generators use (ISO 4217), to check amounts independently of the API. */
export const DIGITS: Record<string, number> = { EUR: 2, SEK: 2, USD: 2, HUF: 2, JPY: 0, KRW: 0, ISK: 0, BHD: 3, KWD: 3, CLF: 4, UYW: 4 };

export const EMAIL_EDGES = [
  ['ap@supplier.example', 'a@b', '@b.example', 'a@b.example\r\nBcc: x@y.example', `${'a'.repeat(250)}@b.example`, 'ä@b.example'],
  ['"a b"@b.example', 'a@[127.0.0.1]', 'a@b.example.', ' a@b.example ', 'a@b.example\u0000'],
].flat();

/** A value of another JSON type than the field expects. */
export const RETYPED: unknown[] = [null, 0, -0, 1e308, -1, 1.5, true, false, [], {}, '', [1], { a: 1 }, ['x'], 'x'];

/** Any code point but a surrogate (fast-check's 'binary' unit costs seconds to build). */
const anyCodePoint = fc
  .integer({ min: 0, max: 0x10ffff })
  .filter((c) => c < 0xd800 || c > 0xdfff)
  .map((c) => String.fromCodePoint(c));

export const textEdge: fc.Arbitrary<string> = fc.oneof(
  { weight: 40, arbitrary: fc.constantFrom(...TEXT_EDGES) },
  {
    weight: 20,
    arbitrary: fc.tuple(fc.string({ maxLength: 6 }), fc.constantFrom(...TEXT_EDGES), fc.string({ maxLength: 6 })).map((p) => p.join('')),
  },
  { weight: 20, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }) },
  { weight: 10, arbitrary: fc.string({ unit: anyCodePoint, maxLength: 8 }) },
  // Lengths around the limits (100, 200, 500 characters), with spaces that trimming removes.
  {
    weight: 20,
    arbitrary: fc
      .tuple(
        fc.constantFrom(49, 50, 51, 99, 100, 101, 199, 200, 201, 499, 500, 501, 2000, 2001),
        fc.constantFrom('', ' ', '  '),
        fc.constantFrom('x', 'é', '😀'),
      )
      .map(([n, pad, c]) => `${pad}${c.repeat(n)}${pad}`),
  },
  // Oversized: rare, for time.
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(10_000), 'ü'.repeat(100_000)) },
);

export const numberEdge: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NUMBER_EDGES) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.bigInt({ min: -(10n ** 17n), max: 10n ** 17n }), fc.integer({ min: 0, max: 8 })).map(([n, scale]) => {
      const digits = (n < 0n ? -n : n).toString().padStart(scale + 1, '0');
      const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
      return n < 0n ? `-${text}` : text;
    }),
  },
);

export const dateEdge: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...DATE_EDGES) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }))
      .map(([y, m, d]) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`),
  },
);

export const currencyEdge: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...CURRENCY_EDGES) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{3}$/) },
);

// ---- a JSON invoice and its mutations ----

export const JSON_TEXT_PATHS = [
  'invoiceNumber',
  'buyerReference',
  'orderReference',
  'contractReference',
  'vendor.name',
  'vendor.vatNumber',
  'vendor.endpointId',
];
const LINE_FIELDS = ['description', 'quantity', 'unitPrice', 'net', 'taxRate'];
export const JSON_PATHS = [
  'vendor',
  'vendor.id',
  'vendor.email',
  'documentType',
  'invoiceDate',
  'dueDate',
  'currency',
  'net',
  'tax',
  'gross',
  'confidential',
  'lines',
  'lines.0',
  ...JSON_TEXT_PATHS,
  ...LINE_FIELDS.map((f) => `lines.0.${f}`),
  ...LINE_FIELDS.map((f) => `lines.1.${f}`),
];

export type JsonOp =
  | { op: 'set'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'extraKey'; path: string; key: string; value: unknown }
  | { op: 'amounts'; currency: string; net: string; tax: string; gross: string; lineNet: string };

/** A change to the serialised JSON text: keys repeated, text cut or spliced, or another document altogether. */
export type JsonTextOp =
  | { op: 'duplicateKey'; key: string; value: unknown; last: boolean }
  | { op: 'splice'; at: number; cut: number; insert: string }
  | { op: 'replace'; text: string };

export interface JsonCase {
  vendor: 'id' | 'new' | 'newWithIds';
  ops: JsonOp[];
  text: JsonTextOp | null;
}

function typedValue(path: string): fc.Arbitrary<unknown> {
  const leaf = path.split('.').at(-1)!;
  if (/Date$/.test(leaf)) return dateEdge;
  if (['net', 'tax', 'gross', 'quantity', 'unitPrice'].includes(leaf)) return numberEdge;
  if (leaf === 'taxRate') return fc.constantFrom(...PERCENT_EDGES);
  if (leaf === 'currency') return currencyEdge;
  if (leaf === 'email') return fc.constantFrom(...EMAIL_EDGES);
  if (leaf === 'documentType') return fc.constantFrom('invoice', 'credit_note', 'INVOICE', 'creditNote', '', 'debit_note');
  if (leaf === 'confidential') return fc.constantFrom(true, false, 'true', 0, 1);
  if (leaf === 'id')
    return fc.oneof(fc.uuid(), fc.constantFrom('$OTHER_VENDOR', 'not-a-uuid', '------------------------------------', '$VENDOR'));
  if (leaf === 'vendor')
    return fc.constantFrom({ id: '$VENDOR', name: 'Both Ltd' }, { name: 'Only A Name' }, { email: 'a@b.example' }, { id: '$OTHER_VENDOR' });
  if (leaf === 'lines') return fc.constantFrom([], [{}], [null], 'lines', { 0: {} });
  if (leaf === '0') return fc.constantFrom({}, null, [], 'line');
  return textEdge;
}

const setOp: fc.Arbitrary<JsonOp> = fc
  .constantFrom(...JSON_PATHS)
  .chain((path) =>
    fc
      .oneof({ weight: 5, arbitrary: typedValue(path) }, { weight: 1, arbitrary: fc.constantFrom(...RETYPED) })
      .map((value) => ({ op: 'set' as const, path, value })),
  );

/** Amounts that agree with each other in a currency, written at the edges of the format: mostly accepted. */
const amountsOp: fc.Arbitrary<JsonOp> = fc
  .tuple(
    fc.constantFrom('EUR', 'JPY', 'BHD', 'CLF', 'SEK', 'KRW', 'ISK', 'KWD', 'USD'),
    fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 7n }), fc.bigInt({ min: 10n ** 14n, max: 10n ** 17n })),
    fc.bigInt({ min: 0n, max: 10n ** 6n }),
    fc.array(fc.constantFrom('plain', 'short', 'padded', 'leading', 'signedZero'), { minLength: 4, maxLength: 4 }),
  )
  .map(([currency, netMinor, taxMinor, styles]) => {
    const digits = DIGITS[currency]!;
    const [a, b, c, d] = styles as [Style, Style, Style, Style];
    return {
      op: 'amounts' as const,
      currency,
      net: formatMinor(netMinor, digits, a),
      tax: formatMinor(taxMinor, digits, b),
      gross: formatMinor(netMinor + taxMinor, digits, c),
      lineNet: formatMinor(netMinor, digits, d),
    };
  });

const jsonOp: fc.Arbitrary<JsonOp> = fc.oneof(
  { weight: 8, arbitrary: setOp },
  { weight: 2, arbitrary: fc.constantFrom(...JSON_PATHS).map((path) => ({ op: 'remove' as const, path })) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('extraKey' as const),
      path: fc.constantFrom('', 'vendor', 'lines.0'),
      key: fc.constantFrom('__proto__', 'constructor', 'toString', 'by', 'id', 'stage', '', '\u0000', 'net '),
      value: fc.constantFrom<unknown>('x', 1, null, { a: 1 }),
    }),
  },
  { weight: 1, arbitrary: amountsOp },
);

const jsonTextOp: fc.Arbitrary<JsonTextOp> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('duplicateKey' as const),
      key: fc.constantFrom('invoiceNumber', 'net', 'gross', 'currency', 'lines', 'vendor'),
      value: fc.constantFrom<unknown>('DUP-1', '1.00', null, [], 'JPY'),
      last: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('splice' as const),
      at: fc.nat(),
      cut: fc.integer({ min: 0, max: 20 }),
      insert: fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('\u0000', '\\u0000', '\\ud800', ',', '}', '"', '\\', '\ufeff')),
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        '',
        'null',
        '[]',
        '"x"',
        '1',
        'true',
        '{',
        '{"a":',
        '[{}]',
        '{"__proto__":{"invoiceNumber":"x"}}',
        `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
        `{"vendor":${'['.repeat(2_000)}${']'.repeat(2_000)}}`,
        '\ufeff{}',
        '{}garbage',
        '{"net":1e999999}',
      )
      .map((text) => ({ op: 'replace' as const, text })),
  },
);

export const jsonCase: fc.Arbitrary<JsonCase> = fc.record({
  vendor: fc.constantFrom('id', 'new', 'newWithIds'),
  ops: fc.array(jsonOp, { minLength: 1, maxLength: 3 }),
  text: fc.option(jsonTextOp, { freq: 6 }),
});

type Style = 'plain' | 'short' | 'padded' | 'leading' | 'signedZero';

/** Minor units as a decimal string with the currency's digits, in one of the spellings the schema allows. */
export function formatMinor(minor: bigint, digits: number, style: Style = 'plain'): string {
  const scale = 10n ** BigInt(digits);
  const whole = (minor / scale).toString();
  const fraction = digits > 0 ? (minor % scale).toString().padStart(digits, '0') : '';
  const plain = fraction ? `${whole}.${fraction}` : whole;
  switch (style) {
    case 'short': {
      const f = fraction.replace(/0+$/, '');
      return f ? `${whole}.${f}` : whole;
    }
    case 'padded':
      return `${whole}.${fraction}${'0'.repeat(6 - digits)}`;
    case 'leading':
      return `00${plain}`;
    case 'signedZero':
      return minor === 0n ? `-${plain}` : plain;
    default:
      return plain;
  }
}

/** The valid JSON invoice every mutation starts from (placeholders: $VENDOR, $NUM). */
export function baseJsonInvoice(vendor: JsonCase['vendor']): Record<string, unknown> {
  return {
    vendor:
      vendor === 'id'
        ? { id: '$VENDOR' }
        : vendor === 'new'
          ? { name: 'Fuzz Supplier $NUM' }
          : { name: 'Fuzz Supplier $NUM', vatNumber: 'SE$NUM01', endpointId: '0007:$NUM', email: 'ap@supplier.example' },
    documentType: 'invoice',
    invoiceNumber: 'FZ-$NUM',
    invoiceDate: '2026-11-01',
    dueDate: '2026-12-01',
    currency: 'EUR',
    net: '1000.00',
    tax: '250.00',
    gross: '1250.00',
    buyerReference: 'BUYER-1',
    lines: [
      { description: 'Paper, A4, 80 g', quantity: '100', unitPrice: '6.00', net: '600.00', taxRate: '25' },
      { description: 'Pens, blue', quantity: '200', unitPrice: '2.00', net: '400.00', taxRate: '25' },
    ],
  };
}

/** Applies the mutations to a copy of the base invoice and serialises it. */
export function jsonText(c: JsonCase): string {
  const body = structuredClone(baseJsonInvoice(c.vendor));
  for (const op of c.ops) applyJsonOp(body, op);
  let text = JSON.stringify(body);
  const t = c.text;
  if (t?.op === 'duplicateKey') {
    const pair = `${JSON.stringify(t.key)}:${JSON.stringify(t.value)}`;
    text =
      t.last && text.endsWith('}')
        ? `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}${pair}}`
        : `{${pair}${text.length > 2 ? ',' : ''}${text.slice(1)}`;
  } else if (t?.op === 'splice') {
    const at = t.at % (text.length + 1);
    text = text.slice(0, at) + t.insert + text.slice(at + t.cut);
  } else if (t?.op === 'replace') {
    text = t.text;
  }
  return text;
}

function applyJsonOp(body: Record<string, unknown>, op: JsonOp): void {
  if (op.op === 'amounts') {
    Object.assign(body, { currency: op.currency, net: op.net, tax: op.tax, gross: op.gross });
    body.lines = [{ description: 'Consulting', quantity: '1', unitPrice: op.lineNet, net: op.lineNet, taxRate: '25' }];
    return;
  }
  const keys = op.path === '' ? [] : op.path.split('.');
  const last = keys.pop();
  let parent: unknown = body;
  for (const k of keys) parent = parent !== null && typeof parent === 'object' ? (parent as Record<string, unknown>)[k] : undefined;
  if (parent === null || typeof parent !== 'object') return;
  const target = parent as Record<string, unknown>;
  if (op.op === 'set' && last !== undefined) target[last] = structuredClone(op.value);
  else if (op.op === 'remove' && last !== undefined) {
    if (Array.isArray(target)) target.splice(Number.parseInt(last, 10), 1);
    else delete target[last];
  } else if (op.op === 'extraKey') {
    const into = last === undefined ? target : target[last];
    if (into !== null && typeof into === 'object')
      Object.defineProperty(into, op.key, { value: op.value, enumerable: true, writable: true, configurable: true });
  }
}

// ---- valid UBL documents and their mutations ----

export type UblFixture = 'min' | 'tc434';
export const UBL_FILES: Record<UblFixture, string> = { min: 'Invoice-Min_content_with_VAT.xml', tc434: 'ubl-tc434-example1.xml' };

/**
 * The fixture text with $NUM in the invoice number and in the supplier's first endpoint id and
 * VAT number, so that every case names a supplier of its own (a known one would be reused).
 */
const templates = new Map<UblFixture, string>();
export function ublTemplate(f: UblFixture): string {
  const cached = templates.get(f);
  if (cached) return cached;
  const xml = fixture(UBL_FILES[f]).toString('utf8');
  const id = firstText(xml, 'ID')!;
  const template = xml
    .replace(`<cbc:ID>${id}</cbc:ID>`, '<cbc:ID>UBL-$NUM</cbc:ID>')
    .replace(/(<cbc:EndpointID[^>]*>)([^<]*)</, '$1$2$NUM<')
    .replace(/(<cbc:CompanyID[^>]*>)([^<]*)</, '$1$2$NUM<');
  templates.set(f, template);
  return template;
}

/** Element names of a fixture with how often each occurs, in document order. */
function inventory(xml: string): string[] {
  return [...new Set([...xml.matchAll(/<(?:cbc|cac):([A-Za-z]+)[\s>/]/g)].map((m) => m[1]!))];
}

export type UblOp =
  | { op: 'set'; el: string; occ: number; value: string }
  | { op: 'raw'; el: string; occ: number; content: string }
  | { op: 'remove'; el: string; occ: number }
  | { op: 'duplicate'; el: string; occ: number }
  | { op: 'attr'; el: string; occ: number; name: string; value: string }
  | { op: 'lines'; count: number }
  | { op: 'splice'; at: number; cut: number; insert: string }
  | { op: 'root'; variant: 'creditNote' | 'noNamespace' | 'otherNamespace' | 'bom' | 'latin1' | 'utf16' | 'doctype' };

export interface UblCase {
  fixture: UblFixture;
  ops: UblOp[];
}

/** Markup put where text belongs: child elements, CDATA, comments, character and entity references. */
const RAW_XML = [
  ['<x>1</x>', '<![CDATA[2018-112]]>', '<![CDATA[<b>]]>', '4<!-- c -->00', '&#x0;', '&#x85;', '&#xD800;'],
  ['&#x1F600;', '&amp;lt;', '&lt;script&gt;', ']]>', '&undefined;', '<cbc:ID>nested</cbc:ID>', '\u0000', ''],
  ['   ', '<?pi x?>500'],
].flat();

function ublValue(el: string): fc.Arbitrary<string> {
  let typed: fc.Arbitrary<string> = textEdge;
  if (/Date$/.test(el)) typed = dateEdge;
  else if (/(Amount|Quantity)$/.test(el)) typed = numberEdge;
  else if (el === 'Percent') typed = fc.constantFrom(...PERCENT_EDGES);
  else if (/CurrencyCode$/.test(el)) typed = currencyEdge;
  else if (el === 'ElectronicMail') typed = fc.constantFrom(...EMAIL_EDGES);
  else if (el === 'CustomizationID')
    typed = fc.constantFrom(
      'urn:cen.eu:en16931:2017',
      'urn:cen.eu:en16931:2017#compliant#x',
      'urn:cen.eu:en16931:2016',
      'URN:CEN.EU:EN16931:2017',
      ' urn:cen.eu:en16931:2017 ',
      '',
    );
  else if (el === 'ChargeIndicator') typed = fc.constantFrom('true', 'false', '1', '0', 'TRUE', 'yes', '');
  else if (/TypeCode$/.test(el)) typed = fc.constantFrom('380', '381', '384', '389', '751', '0', 'abc', '');
  return fc.oneof({ weight: 4, arbitrary: typed }, { weight: 1, arbitrary: textEdge });
}

/** The elements invoiceflow reads: mutated more often than the rest of the document. */
const READ = new Set(
  [
    ['ID', 'IssueDate', 'DueDate', 'DocumentCurrencyCode', 'CustomizationID', 'InvoiceTypeCode', 'BuyerReference'],
    ['EndpointID', 'CompanyID', 'RegistrationName', 'IdentificationCode', 'TaxAmount', 'TaxableAmount', 'Percent'],
    ['LineExtensionAmount', 'TaxExclusiveAmount', 'TaxInclusiveAmount', 'PayableAmount', 'InvoicedQuantity'],
    ['PriceAmount', 'Name', 'InvoiceLine', 'TaxTotal', 'LegalMonetaryTotal', 'AccountingSupplierParty'],
    ['AccountingCustomerParty', 'PaymentDueDate', 'ChargeIndicator', 'Amount'],
  ].flat(),
);

function ublOp(names: string[], f: UblFixture): fc.Arbitrary<UblOp> {
  const read = names.filter((n) => READ.has(n));
  const el = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...read) }, { weight: 1, arbitrary: fc.constantFrom(...names) });
  const occ = fc.nat({ max: 30 });
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc.tuple(el, occ).chain(([e, o]) => ublValue(e).map((value) => ({ op: 'set' as const, el: e, occ: o, value }))),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('raw' as const), el, occ, content: fc.constantFrom(...RAW_XML) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('remove' as const), el, occ }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('duplicate' as const), el, occ }) },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('attr' as const),
        el,
        occ,
        name: fc.constantFrom('currencyID', 'schemeID', 'unitCode'),
        value: fc.oneof(currencyEdge, fc.constantFrom('0007', '', '"', '&amp;')),
      }),
    },
    {
      weight: f === 'min' ? 1 : 0,
      arbitrary: fc.integer({ min: 2, max: 30 }).map((count) => ({ op: 'lines' as const, count })),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('splice' as const),
        at: fc.nat(),
        cut: fc.integer({ min: 0, max: 60 }),
        insert: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('<', '>', '&', '<!DOCTYPE x>', '</Invoice>', '\u0000', '\ud800')),
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('creditNote', 'noNamespace', 'otherNamespace', 'bom', 'latin1', 'utf16', 'doctype')
        .map((variant) => ({ op: 'root' as const, variant })),
    },
  );
}

const NAMES: Record<UblFixture, string[]> = {
  min: inventory(ublTemplate('min')),
  tc434: inventory(ublTemplate('tc434')),
};

export const ublCase: fc.Arbitrary<UblCase> = fc
  .constantFrom<UblFixture>('min', 'min', 'min', 'tc434')
  .chain((f) => fc.record({ fixture: fc.constant(f), ops: fc.array(ublOp(NAMES[f], f), { minLength: 2, maxLength: 4 }) }));

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The span [start, end) of the `occ`-th element named `el` (modulo how many there are), or undefined. */
function elementAt(
  xml: string,
  el: string,
  occ: number,
): { start: number; end: number; open: string; inner: [number, number] } | undefined {
  const opens = [...xml.matchAll(new RegExp(`<((?:cbc|cac):${el})(\\s[^>]*)?(/?)>`, 'g'))];
  if (opens.length === 0) return undefined;
  const m = opens[occ % opens.length]!;
  const start = m.index;
  const openEnd = start + m[0].length;
  if (m[3] === '/') return { start, end: openEnd, open: m[0], inner: [openEnd, openEnd] };
  const close = `</${m[1]}>`;
  const closeAt = xml.indexOf(close, openEnd);
  if (closeAt < 0) return undefined;
  return { start, end: closeAt + close.length, open: m[0], inner: [openEnd, closeAt] };
}

/** Applies the mutations to the fixture: the document text, and how to encode it. */
export function ublDocument(c: UblCase, num: string): Buffer {
  let xml = ublTemplate(c.fixture).replaceAll('$NUM', num);
  let encoding: 'utf8' | 'latin1' | 'utf16le' = 'utf8';
  for (const op of c.ops) {
    if (op.op === 'lines') {
      xml = withLines(xml, op.count);
      continue;
    }
    if (op.op === 'splice') {
      const at = op.at % (xml.length + 1);
      xml = xml.slice(0, at) + op.insert + xml.slice(at + op.cut);
      continue;
    }
    if (op.op === 'root') {
      if (op.variant === 'creditNote') xml = xml.replace(/<Invoice\b/, '<CreditNote').replace('</Invoice>', '</CreditNote>');
      else if (op.variant === 'noNamespace') xml = xml.replace('xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"', '');
      else if (op.variant === 'otherNamespace')
        xml = xml.replace('urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"', 'urn:example:invoice"');
      else if (op.variant === 'bom') xml = `\ufeff${xml}`;
      else if (op.variant === 'doctype') xml = xml.replace(/<Invoice\b/, '<!DOCTYPE Invoice []>\n<Invoice');
      else encoding = op.variant === 'latin1' ? 'latin1' : 'utf16le';
      continue;
    }
    const at = elementAt(xml, op.el, op.occ);
    if (!at) continue;
    if (op.op === 'set') xml = xml.slice(0, at.inner[0]) + escapeXml(op.value) + xml.slice(at.inner[1]);
    else if (op.op === 'raw') xml = xml.slice(0, at.inner[0]) + op.content + xml.slice(at.inner[1]);
    else if (op.op === 'remove') xml = xml.slice(0, at.start) + xml.slice(at.end);
    else if (op.op === 'duplicate') xml = xml.slice(0, at.end) + xml.slice(at.start, at.end) + xml.slice(at.end);
    else if (op.op === 'attr') {
      const open = at.open.replace(new RegExp(`\\s${op.name}="[^"]*"`), '');
      const withAttr = open.replace(
        /(\/?)>$/,
        ` ${op.name}="${op.value
          .replace(/&(?!amp;)/g, '&amp;')
          .replace(/"/g, '&quot;')
          .replace(/</g, '&lt;')}"$1>`,
      );
      xml = xml.slice(0, at.start) + withAttr + xml.slice(at.start + at.open.length);
    }
  }
  return Buffer.from(xml, encoding);
}

/** The minimal Peppol invoice with `count` copies of its one line (400 SEK at 25 %), totals adjusted. */
function withLines(xml: string, count: number): string {
  const line = elementAt(xml, 'InvoiceLine', 0);
  if (!line || !xml.includes('<cbc:TaxableAmount currencyID="SEK">400<')) return xml;
  const block = xml.slice(line.start, line.end).replace(/>\s+</g, '><');
  const lines = Array.from({ length: count }, (_, i) => block.replace('<cbc:ID>1</cbc:ID>', `<cbc:ID>${i + 1}</cbc:ID>`)).join('');
  const head = xml
    .slice(0, line.start)
    .replace(/(<cbc:(?:LineExtensionAmount|TaxExclusiveAmount|TaxableAmount) currencyID="SEK">)400</g, `$1${400 * count}<`)
    .replace(/(<cbc:TaxAmount currencyID="SEK">)100</g, `$1${100 * count}<`)
    .replace(/(<cbc:(?:TaxInclusiveAmount|PayableAmount) currencyID="SEK">)500</g, `$1${500 * count}<`);
  return head + lines + xml.slice(line.end);
}

/** What a registered UBL document should show, field by field; a field a mutation may have changed is left out. */
export interface UblExpectation {
  invoiceNumber?: string;
  invoiceDate?: string;
  dueDate?: string;
  currency?: string;
  buyerReference?: string | null;
  vendorName?: string;
  vendorVat?: string | null;
  net?: string;
  tax?: string;
  gross?: string;
  lines?: number;
}

/** The elements each expected field comes from (containers included): a mutation of any of them makes the field unknown. */
const UBL_SOURCES: Record<keyof UblExpectation, string[]> = {
  invoiceNumber: ['ID'],
  invoiceDate: ['IssueDate'],
  dueDate: ['DueDate', 'PaymentMeans', 'PaymentDueDate', 'IssueDate'],
  currency: ['DocumentCurrencyCode'],
  buyerReference: ['BuyerReference'],
  vendorName: ['AccountingSupplierParty', 'Party', 'PartyLegalEntity', 'RegistrationName', 'PartyName', 'Name'],
  vendorVat: ['AccountingSupplierParty', 'Party', 'PartyTaxScheme', 'CompanyID', 'TaxScheme', 'ID'],
  net: ['LegalMonetaryTotal', 'TaxExclusiveAmount', 'TaxInclusiveAmount', 'DocumentCurrencyCode'],
  tax: ['TaxTotal', 'TaxAmount', 'TaxInclusiveAmount', 'DocumentCurrencyCode'],
  gross: ['LegalMonetaryTotal', 'TaxInclusiveAmount', 'DocumentCurrencyCode'],
  lines: ['InvoiceLine'],
};

/** Fields set by a mutation of the first element of that name, as text (line ends normalised, trimmed). */
const UBL_TRACKED: Partial<Record<string, 'invoiceNumber' | 'invoiceDate' | 'buyerReference' | 'currency'>> = {
  ID: 'invoiceNumber',
  IssueDate: 'invoiceDate',
  BuyerReference: 'buyerReference',
  DocumentCurrencyCode: 'currency',
};

/** A lone surrogate cannot be encoded in UTF-8 (nor stored by Postgres): U+FFFD takes its place. */
export const wellFormed = (s: string) => s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');

/** XML text as a reader sees it: line ends normalised (XML 1.0 §2.11), then trimmed. */
export const xmlText = (s: string) => s.replace(/\r\n?/g, '\n').trim();

export function ublExpectation(c: UblCase): UblExpectation {
  const xml = ublTemplate(c.fixture);
  const invoiceDate = firstText(xml, 'IssueDate')!;
  const e: UblExpectation = {
    invoiceDate,
    dueDate: firstText(xml, 'DueDate') ?? firstText(xml, 'PaymentDueDate') ?? invoiceDate,
    currency: firstText(xml, 'DocumentCurrencyCode')!,
    buyerReference: firstText(xml, 'BuyerReference') ?? null,
    vendorName: firstText(xml, 'RegistrationName', 'AccountingSupplierParty')!,
    vendorVat: firstText(xml, 'CompanyID', 'PartyTaxScheme') ?? null,
    net: firstText(xml, 'TaxExclusiveAmount')!,
    tax: firstText(xml, 'TaxAmount')!,
    gross: firstText(xml, 'TaxInclusiveAmount')!,
    lines: (xml.match(/<cac:InvoiceLine>/g) ?? []).length,
  };
  // The invoice number is the number sent unless a mutation touched it.
  const numberKept = !c.ops.some((op) => op.op === 'splice' || ('el' in op && op.el === 'ID'));
  // After a change of the structure (a BOM is none) nothing else is known field by field.
  if (c.ops.some((op) => op.op === 'splice' || op.op === 'lines' || (op.op === 'root' && op.variant !== 'bom')))
    return numberKept ? { invoiceNumber: 'UBL-$NUM' } : {};
  for (const op of c.ops) {
    if (!('el' in op)) continue;
    // A field is known after a mutation only when that one mutation set its element's first occurrence
    // (of an element that occurs more than once, only occurrence 0 is surely the first: others may have moved).
    const alone = c.ops.filter((o) => 'el' in o && o.el === op.el).length === 1;
    const tracked = alone ? UBL_TRACKED[op.el] : undefined;
    for (const k of Object.keys(UBL_SOURCES) as (keyof UblExpectation)[]) if (UBL_SOURCES[k].includes(op.el)) delete e[k];
    const occurrences = xml.match(new RegExp(`<cbc:${op.el}[\\s>]`, 'g'))?.length ?? 1;
    if (op.op === 'set' && tracked && (occurrences === 1 || op.occ === 0)) {
      const v = xmlText(wellFormed(op.value));
      if (tracked === 'buyerReference') e.buyerReference = v || null;
      else e[tracked] = v;
      if (op.el === 'IssueDate' && !/<cbc:(?:Payment)?DueDate>/.test(xml)) e.dueDate = v;
    }
  }
  if (numberKept) e.invoiceNumber ??= 'UBL-$NUM';
  return e;
}
