/**
 * Reads a UBL 2.1 Invoice or CreditNote (Peppol BIS Billing 3.0 / EN 16931) from an element
 * tree, and checks it: every problem is reported at once, each with its element path and a
 * sentence. Amounts stay exact decimal strings.
 */
import { format, isCurrency, isNegative, minus, money, MoneyError, plus, sameAmount, sum, zero, type Money } from '../money';
import { child, children, path, text, type XmlElement } from './xml';

export const NS = {
  invoice: 'urn:oasis:names:specification:ubl:schema:xsd:Invoice-2',
  creditNote: 'urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2',
  cbc: 'urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2',
  cac: 'urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2',
  ext: 'urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2',
} as const;

/** Every EN 16931 customisation (core, Peppol BIS, national CIUS) starts with this. */
export const EN16931 = 'urn:cen.eu:en16931:2017';

export interface Problem {
  path: string;
  message: string;
}

export interface UblParty {
  name: string;
  vatNumber?: string;
  endpointId?: string;
  email?: string;
}

export interface UblLine {
  id: string;
  description: string;
  quantity: string;
  unitPrice: string;
  net: string;
  taxRate: string;
  taxCategory: string;
}

export interface UblAttachment {
  id: string;
  description?: string;
  filename?: string;
  mimeCode?: string;
  /** Size in bytes of an embedded attachment (the content itself stays in the stored document). */
  embeddedBytes?: number;
  uri?: string;
}

export interface UblTotals {
  lineExtension: string;
  allowances: string;
  charges: string;
  taxExclusive: string;
  tax: string;
  taxInclusive: string;
  prepaid: string;
  rounding: string;
  payable: string;
}

export interface UblInvoice {
  rootName: 'Invoice' | 'CreditNote';
  typeCode: string;
  customizationId: string;
  profileId?: string;
  /** A negative invoice is a credit, and a negative credit note a debit: the sign goes here. */
  documentType: 'invoice' | 'credit_note';
  invoiceNumber: string;
  invoiceDate: string;
  dueDate?: string;
  currency: string;
  /** As in the document, signs included. */
  totals: UblTotals;
  /** Net (BT-109), tax (BT-110) and gross (BT-112), made non-negative by {@link documentType}. */
  net: string;
  tax: string;
  gross: string;
  supplier: UblParty;
  buyerReference?: string;
  orderReference?: string;
  contractReference?: string;
  lines: UblLine[];
  attachments: UblAttachment[];
  vatBreakdown: { category: string; rate?: string; taxable: string; tax: string }[];
  /** Things that do not stop intake but belong in the audit trail. */
  warnings: string[];
}

export type UblResult = { ok: true; invoice: UblInvoice } | { ok: false; unsupported: boolean; problems: Problem[] };

/** Reads and validates a parsed UBL document. */
export function readUbl(root: XmlElement): UblResult {
  const rootName = root.name;
  if (!((rootName === 'Invoice' && root.ns === NS.invoice) || (rootName === 'CreditNote' && root.ns === NS.creditNote))) {
    const known = rootName === 'Invoice' || rootName === 'CreditNote';
    return {
      ok: false,
      unsupported: !known,
      problems: [
        {
          path: `/${rootName}`,
          message: known
            ? `the ${rootName} element is in namespace "${root.ns}", not the UBL 2.1 ${rootName} namespace`
            : `a UBL ${rootName || 'unknown'} document (namespace "${root.ns}") is not supported; send an Invoice or a CreditNote`,
        },
      ],
    };
  }
  return new Reader(root, rootName).read();
}

class Reader {
  private readonly problems: Problem[] = [];
  private readonly warnings: string[] = [];
  private currency = 'EUR';

  constructor(
    private readonly root: XmlElement,
    private readonly rootName: 'Invoice' | 'CreditNote',
  ) {}

  read(): UblResult {
    const r = this.root;
    this.checkNamespaces();
    const customizationId = this.required(
      text(r, 'CustomizationID'),
      'cbc:CustomizationID',
      'the specification identifier (BT-24) is missing',
    );
    if (customizationId !== undefined && !customizationId.startsWith(EN16931)) {
      this.problem(
        'cbc:CustomizationID',
        `"${customizationId}" is not an EN 16931 specification identifier (it must start with "${EN16931}")`,
      );
    }
    const invoiceNumber = this.required(text(r, 'ID'), 'cbc:ID', 'the invoice number (BT-1) is missing');
    const invoiceDate = this.date(text(r, 'IssueDate'), 'cbc:IssueDate', 'issue date (BT-2)', true);
    const typeElement = this.rootName === 'Invoice' ? 'InvoiceTypeCode' : 'CreditNoteTypeCode';
    const typeCode = this.required(text(r, typeElement), `cbc:${typeElement}`, 'the document type code (BT-3) is missing');
    const currencyCode = this.required(
      text(r, 'DocumentCurrencyCode'),
      'cbc:DocumentCurrencyCode',
      'the invoice currency (BT-5) is missing',
    );
    if (currencyCode !== undefined) {
      if (isCurrency(currencyCode)) this.currency = currencyCode;
      else this.problem('cbc:DocumentCurrencyCode', `"${currencyCode}" is not an ISO 4217 currency code`);
    }
    const dueDate =
      this.date(text(r, 'DueDate'), 'cbc:DueDate', 'due date (BT-9)', false) ??
      this.date(text(r, 'PaymentMeans', 'PaymentDueDate'), 'cac:PaymentMeans/cbc:PaymentDueDate', 'payment due date', false);

    const supplier = this.party('AccountingSupplierParty', 'Seller', 'BT-27');
    this.party('AccountingCustomerParty', 'Buyer', 'BT-44');
    const lines = this.lines();
    const totals = this.totals(lines);
    this.vatRules(lines);

    if (this.problems.length > 0) return { ok: false, unsupported: false, problems: this.problems };
    const t = totals!;
    const negative = isNegative(this.amount(t.taxInclusive, '')!);
    const flip = (v: string) => format(minus(zero(this.currency), this.amount(v, '')!));
    const sign = (v: string) => (negative ? flip(v) : format(this.amount(v, '')!));
    const isCredit = (this.rootName === 'CreditNote') !== negative;
    if (negative)
      this.warnings.push(
        `The ${this.rootName} has negative totals; it is registered as a ${isCredit ? 'credit note' : 'invoice'} with positive amounts`,
      );
    if (!dueDate) this.warnings.push('The document has no due date');

    const invoice: UblInvoice = {
      rootName: this.rootName,
      typeCode: typeCode!,
      customizationId: customizationId!,
      ...opt('profileId', text(r, 'ProfileID')),
      documentType: isCredit ? 'credit_note' : 'invoice',
      invoiceNumber: invoiceNumber!,
      invoiceDate: invoiceDate!,
      ...opt('dueDate', dueDate),
      currency: this.currency,
      totals: t,
      net: sign(t.taxExclusive),
      tax: sign(t.tax),
      gross: sign(t.taxInclusive),
      supplier: supplier!,
      ...opt('buyerReference', text(r, 'BuyerReference')),
      ...opt('orderReference', text(r, 'OrderReference', 'ID')),
      ...opt('contractReference', text(r, 'ContractDocumentReference', 'ID')),
      lines: lines.map((l) => (negative ? { ...l, net: flip(l.net), quantity: negateDecimal(l.quantity) } : l)),
      attachments: this.attachments(),
      vatBreakdown: this.vatBreakdown(),
      warnings: this.warnings,
    };
    return { ok: true, invoice };
  }

  private checkNamespaces(): void {
    for (const el of this.root.children) {
      if (el.name === 'UBLExtensions') continue;
      const expected = el.children.length > 0 ? NS.cac : NS.cbc;
      if (el.ns !== NS.cac && el.ns !== NS.cbc) {
        this.problem(`${el.name}`, `element at line ${el.line} is in namespace "${el.ns}", expected "${expected}"`);
      }
    }
  }

  private party(element: string, role: 'Seller' | 'Buyer', nameTerm: string): UblParty | undefined {
    const party = path(this.root, element, 'Party');
    const where = `cac:${element}/cac:Party`;
    if (!party) {
      this.problem(`cac:${element}`, `the ${role.toLowerCase()} party is missing`);
      return undefined;
    }
    const name = text(party, 'PartyLegalEntity', 'RegistrationName');
    if (!name)
      this.problem(`${where}/cac:PartyLegalEntity/cbc:RegistrationName`, `the ${role.toLowerCase()} name (${nameTerm}) is missing`);
    if (!text(party, 'PostalAddress', 'Country', 'IdentificationCode')) {
      this.problem(`${where}/cac:PostalAddress/cac:Country/cbc:IdentificationCode`, `the ${role.toLowerCase()} country code is missing`);
    }
    const endpoint = child(party, 'EndpointID');
    const endpointValue = endpoint?.text.trim();
    const vat = children(party, 'PartyTaxScheme').find((s) => text(s, 'TaxScheme', 'ID') === 'VAT');
    return {
      name: name ?? text(party, 'PartyName', 'Name') ?? '',
      ...opt('vatNumber', text(vat, 'CompanyID')),
      ...opt(
        'endpointId',
        endpointValue ? (endpoint?.attrs.schemeID ? `${endpoint.attrs.schemeID}:${endpointValue}` : endpointValue) : undefined,
      ),
      ...opt('email', text(party, 'Contact', 'ElectronicMail')),
    };
  }

  private lines(): UblLine[] {
    const lineName = this.rootName === 'Invoice' ? 'InvoiceLine' : 'CreditNoteLine';
    const quantityName = this.rootName === 'Invoice' ? 'InvoicedQuantity' : 'CreditedQuantity';
    const lines = children(this.root, lineName);
    if (lines.length === 0) this.problem(`cac:${lineName}`, 'the document has no lines (BG-25)');
    let sublines = 0;
    const result = lines.map((line, i) => {
      const at = `cac:${lineName}[${i + 1}]`;
      sublines += children(line, `Sub${lineName}`).length;
      const id = this.required(text(line, 'ID'), `${at}/cbc:ID`, 'the line identifier (BT-126) is missing') ?? '';
      const quantity =
        this.required(text(line, quantityName), `${at}/cbc:${quantityName}`, 'the invoiced quantity (BT-129) is missing') ?? '0';
      const net = this.required(
        text(line, 'LineExtensionAmount'),
        `${at}/cbc:LineExtensionAmount`,
        'the line net amount (BT-131) is missing',
      );
      const name = this.required(text(line, 'Item', 'Name'), `${at}/cac:Item/cbc:Name`, 'the item name (BT-153) is missing');
      const price = this.required(
        text(line, 'Price', 'PriceAmount'),
        `${at}/cac:Price/cbc:PriceAmount`,
        'the item net price (BT-146) is missing',
      );
      const category = this.required(
        text(line, 'Item', 'ClassifiedTaxCategory', 'ID'),
        `${at}/cac:Item/cac:ClassifiedTaxCategory/cbc:ID`,
        'the line VAT category (BT-151) is missing',
      );
      if (net !== undefined) this.amount(net, `${at}/cbc:LineExtensionAmount`);
      if (!isDecimal(quantity)) this.problem(`${at}/cbc:${quantityName}`, `"${quantity}" is not a number`);
      if (price !== undefined && !isDecimal(price)) this.problem(`${at}/cac:Price/cbc:PriceAmount`, `"${price}" is not a number`);
      const description = [name, text(line, 'Item', 'Description')].filter(Boolean).join(': ');
      return {
        id,
        description: description.slice(0, 500) || id,
        quantity,
        unitPrice: price ?? '0',
        net: net ?? '0',
        taxRate: text(line, 'Item', 'ClassifiedTaxCategory', 'Percent') ?? '0',
        taxCategory: category ?? '',
      };
    });
    if (sublines > 0)
      this.warnings.push(
        `${sublines} sub-invoice lines are kept in the original document only (the XRechnung CIUS forbids them; EN 16931 allows them)`,
      );
    return result;
  }

  /** BR-CO-10 to BR-CO-16: the document totals must add up, to the cent. */
  private totals(lines: UblLine[]): UblTotals | undefined {
    const lmt = child(this.root, 'LegalMonetaryTotal');
    const base = 'cac:LegalMonetaryTotal';
    if (!lmt) {
      this.problem(base, 'the document totals (BG-22) are missing');
      return undefined;
    }
    const get = (name: string, term: string, mandatory: boolean): Money | undefined => {
      const value = text(lmt, name);
      if (value === undefined) {
        if (mandatory) this.problem(`${base}/cbc:${name}`, `the ${term} is missing`);
        return mandatory ? undefined : zero(this.currency);
      }
      return this.amount(value, `${base}/cbc:${name}`);
    };
    const lineExtension = get('LineExtensionAmount', 'sum of line net amounts (BT-106)', true);
    const taxExclusive = get('TaxExclusiveAmount', 'total without VAT (BT-109)', true);
    const taxInclusive = get('TaxInclusiveAmount', 'total with VAT (BT-112)', true);
    const payable = get('PayableAmount', 'amount due for payment (BT-115)', true);
    const allowances = get('AllowanceTotalAmount', '', false);
    const charges = get('ChargeTotalAmount', '', false);
    const prepaid = get('PrepaidAmount', '', false);
    const rounding = get('PayableRoundingAmount', '', false);

    const docAllowances = this.allowanceCharges(false);
    const docCharges = this.allowanceCharges(true);
    const tax = this.taxTotal();
    const lineNets = lines.map((l) => this.amount(l.net, ''));
    const c = this.currency;
    const check = (actual: Money | undefined, expected: Money | undefined, path: string, rule: string) => {
      if (actual && expected && !sameAmount(actual, expected)) {
        this.problem(path, `${rule}: the document says ${format(actual)} but the figures add up to ${format(expected)} ${c}`);
      }
    };
    if (lineNets.every(Boolean))
      check(lineExtension, sum(lineNets as Money[], c), `${base}/cbc:LineExtensionAmount`, 'BR-CO-10 sum of line net amounts');
    check(allowances, docAllowances, `${base}/cbc:AllowanceTotalAmount`, 'BR-CO-11 sum of document allowances');
    check(charges, docCharges, `${base}/cbc:ChargeTotalAmount`, 'BR-CO-12 sum of document charges');
    if (lineExtension && allowances && charges) {
      check(taxExclusive, plus(minus(lineExtension, allowances), charges), `${base}/cbc:TaxExclusiveAmount`, 'BR-CO-13 total without VAT');
    }
    if (taxExclusive && tax) check(taxInclusive, plus(taxExclusive, tax), `${base}/cbc:TaxInclusiveAmount`, 'BR-CO-15 total with VAT');
    if (taxInclusive && prepaid && rounding) {
      check(payable, plus(minus(taxInclusive, prepaid), rounding), `${base}/cbc:PayableAmount`, 'BR-CO-16 amount due for payment');
    }
    if (!lineExtension || !taxExclusive || !taxInclusive || !payable || !allowances || !charges || !prepaid || !rounding || !tax)
      return undefined;
    return {
      lineExtension: format(lineExtension),
      allowances: format(allowances),
      charges: format(charges),
      taxExclusive: format(taxExclusive),
      tax: format(tax),
      taxInclusive: format(taxInclusive),
      prepaid: format(prepaid),
      rounding: format(rounding),
      payable: format(payable),
    };
  }

  private allowanceCharges(charge: boolean): Money | undefined {
    if (charge) {
      children(this.root, 'AllowanceCharge').forEach((ac, i) => {
        if (xsdBoolean(text(ac, 'ChargeIndicator')) === undefined) {
          this.problem(`cac:AllowanceCharge[${i + 1}]/cbc:ChargeIndicator`, 'must be true (a charge) or false (an allowance)');
        }
      });
    }
    const amounts = children(this.root, 'AllowanceCharge')
      .map((ac, i) => ({ ac, i }))
      .filter(({ ac }) => xsdBoolean(text(ac, 'ChargeIndicator')) === charge)
      .map(({ ac, i }) => {
        const value = text(ac, 'Amount');
        const at = `cac:AllowanceCharge[${i + 1}]/cbc:Amount`;
        if (value === undefined) {
          this.problem(at, `the document ${charge ? 'charge' : 'allowance'} amount is missing`);
          return undefined;
        }
        return this.amount(value, at);
      });
    return amounts.every(Boolean) ? sum(amounts as Money[], this.currency) : undefined;
  }

  /** BR-CO-14 and the one-TaxTotal-per-currency rule: the VAT total in the document currency. */
  private taxTotal(): Money | undefined {
    const totals = children(this.root, 'TaxTotal');
    const taxCurrency = text(this.root, 'TaxCurrencyCode');
    const inDocCurrency = totals.filter((t) => child(t, 'TaxAmount')?.attrs.currencyID === this.currency);
    const inTaxCurrency =
      taxCurrency && taxCurrency !== this.currency ? totals.filter((t) => child(t, 'TaxAmount')?.attrs.currencyID === taxCurrency) : [];
    if (inDocCurrency.length !== 1) {
      this.problem(
        'cac:TaxTotal',
        `there must be exactly one VAT total in the invoice currency ${this.currency} (BR-CO-15, BT-110); there are ${inDocCurrency.length}`,
      );
    }
    if (inTaxCurrency.length > 1)
      this.problem('cac:TaxTotal', `there is more than one VAT total in the VAT accounting currency ${taxCurrency} (BT-111)`);
    if (totals.length > inDocCurrency.length + inTaxCurrency.length) {
      this.problem(
        'cac:TaxTotal',
        `${totals.length - inDocCurrency.length - inTaxCurrency.length} VAT totals are in a currency that is neither the invoice nor the VAT accounting currency`,
      );
    }
    const total = inDocCurrency[0];
    if (inDocCurrency.length !== 1 || !total) return undefined;
    const amount = this.amount(text(total, 'TaxAmount') ?? '', 'cac:TaxTotal/cbc:TaxAmount');
    const subtotals = children(total, 'TaxSubtotal').map((s, i) =>
      this.amount(text(s, 'TaxAmount') ?? '', `cac:TaxTotal/cac:TaxSubtotal[${i + 1}]/cbc:TaxAmount`),
    );
    if (subtotals.length === 0) this.problem('cac:TaxTotal/cac:TaxSubtotal', 'the VAT breakdown (BG-23) is missing');
    else if (amount && subtotals.every(Boolean) && !sameAmount(amount, sum(subtotals as Money[], this.currency))) {
      this.problem(
        'cac:TaxTotal/cbc:TaxAmount',
        `BR-CO-14 VAT total: the document says ${format(amount)} but the VAT breakdown adds up to ${format(sum(subtotals as Money[], this.currency))} ${this.currency}`,
      );
    }
    return amount;
  }

  /** BR-O-02: an invoice with items not subject to VAT carries no VAT identifiers. */
  private vatRules(lines: UblLine[]): void {
    if (!lines.some((l) => l.taxCategory === 'O')) return;
    const vatId = (el: XmlElement | undefined) =>
      children(el, 'PartyTaxScheme').some((s) => text(s, 'TaxScheme', 'ID') === 'VAT' && text(s, 'CompanyID'));
    if (vatId(path(this.root, 'AccountingSupplierParty', 'Party'))) {
      this.problem(
        'cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme',
        'BR-O-02: with items not subject to VAT (category O) the seller VAT identifier (BT-31) must be absent',
      );
    }
    if (vatId(child(this.root, 'TaxRepresentativeParty'))) {
      this.problem(
        'cac:TaxRepresentativeParty/cac:PartyTaxScheme',
        'BR-O-03: with items not subject to VAT (category O) the seller tax representative VAT identifier (BT-63) must be absent',
      );
    }
    if (vatId(path(this.root, 'AccountingCustomerParty', 'Party'))) {
      this.problem(
        'cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme',
        'BR-O-04: with items not subject to VAT (category O) the buyer VAT identifier (BT-48) must be absent',
      );
    }
  }

  private vatBreakdown(): UblInvoice['vatBreakdown'] {
    const total = children(this.root, 'TaxTotal').find((t) => child(t, 'TaxAmount')?.attrs.currencyID === this.currency);
    return children(total, 'TaxSubtotal').map((s) => ({
      category: text(s, 'TaxCategory', 'ID') ?? '',
      ...opt('rate', text(s, 'TaxCategory', 'Percent')),
      taxable: text(s, 'TaxableAmount') ?? '0',
      tax: text(s, 'TaxAmount') ?? '0',
    }));
  }

  private attachments(): UblAttachment[] {
    return children(this.root, 'AdditionalDocumentReference').map((ref) => {
      const embedded = path(ref, 'Attachment', 'EmbeddedDocumentBinaryObject');
      const content = embedded?.text.replace(/\s+/g, '') ?? '';
      return {
        id: text(ref, 'ID') ?? '',
        ...opt('description', text(ref, 'DocumentDescription')),
        ...opt('filename', embedded?.attrs.filename),
        ...opt('mimeCode', embedded?.attrs.mimeCode),
        ...(embedded
          ? { embeddedBytes: Math.floor((content.length * 3) / 4) - (content.endsWith('==') ? 2 : content.endsWith('=') ? 1 : 0) }
          : {}),
        ...opt('uri', text(ref, 'Attachment', 'ExternalReference', 'URI')),
      };
    });
  }

  // ---- helpers ----

  private amount(value: string, at: string): Money | undefined {
    try {
      return money(value, this.currency);
    } catch (e) {
      if (!(e instanceof MoneyError)) throw e;
      if (at) this.problem(at, e.message);
      return undefined;
    }
  }

  private date(value: string | undefined, at: string, term: string, mandatory: boolean): string | undefined {
    if (value === undefined) {
      if (mandatory) this.problem(at, `the ${term} is missing`);
      return undefined;
    }
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
      this.problem(at, `"${value}" is not a date (YYYY-MM-DD)`);
      return undefined;
    }
    return value;
  }

  private required(value: string | undefined, at: string, message: string): string | undefined {
    if (value === undefined) this.problem(at, message);
    return value;
  }

  private problem(at: string, message: string): void {
    this.problems.push({ path: `/${this.rootName}/${at}`, message });
  }
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** xsd:boolean: "true", "false", "1" or "0". */
function xsdBoolean(value: string | undefined): boolean | undefined {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return undefined;
}

function isDecimal(value: string): boolean {
  return /^-?\d+(\.\d+)?$/.test(value);
}

function negateDecimal(value: string): string {
  return value.startsWith('-') ? value.slice(1) : value === '0' ? value : `-${value}`;
}
