/** Turns a received UBL document into an intake request, or a 4xx that says what is wrong. */
import { readUbl } from '../domain/ubl/invoice';
import { parseXml, XmlError, type XmlLimits } from '../domain/ubl/xml';
import { ApiError } from './errors';
import { MAX_LINES, UblInvoiceIntake } from './schemas';
import type { IntakeRequest } from './invoices-service';

const XML_ERROR_STATUS = { malformed: 400, forbidden: 400, too_large: 413 } as const;

export function ublIntakeRequest(bytes: Buffer, contentType: string, limits?: XmlLimits): Omit<IntakeRequest, 'idempotencyKey'> {
  let root;
  try {
    root = parseXml(bytes, limits);
  } catch (err) {
    if (!(err instanceof XmlError)) throw err;
    throw new ApiError(
      XML_ERROR_STATUS[err.kind],
      err.kind === 'too_large' ? 'payload_too_large' : 'malformed_xml',
      `The XML cannot be read: ${err.message}`,
    );
  }
  const result = readUbl(root);
  if (!result.ok) {
    throw result.unsupported
      ? new ApiError(422, 'unsupported_document', result.problems[0]!.message, result.problems)
      : new ApiError(
          422,
          'validation_failed',
          `The UBL document is not a valid EN 16931 invoice: ${result.problems[0]!.message}${result.problems.length > 1 ? ` (and ${result.problems.length - 1} more problems)` : ''}`,
          result.problems,
        );
  }
  const u = result.invoice;
  // As for JSON: above the documented limit, 413 with the limit (not the schema's 422).
  if (u.lines.length > MAX_LINES) {
    throw new ApiError(413, 'too_many_lines', `An invoice has at most ${MAX_LINES} lines; this one has ${u.lines.length}`);
  }
  const invoice = {
    vendor: {
      name: u.supplier.name,
      ...(u.supplier.vatNumber ? { vatNumber: u.supplier.vatNumber } : {}),
      ...(u.supplier.endpointId ? { endpointId: u.supplier.endpointId } : {}),
      ...(u.supplier.email ? { email: u.supplier.email } : {}),
    },
    documentType: u.documentType,
    invoiceNumber: u.invoiceNumber,
    invoiceDate: u.invoiceDate,
    // Without a due date in the document, the invoice is due when issued (and flagged in the audit trail).
    dueDate: u.dueDate ?? u.invoiceDate,
    currency: u.currency,
    net: u.net,
    tax: u.tax,
    gross: u.gross,
    ...(u.buyerReference ? { buyerReference: u.buyerReference } : {}),
    ...(u.orderReference ? { orderReference: u.orderReference } : {}),
    ...(u.contractReference ? { contractReference: u.contractReference } : {}),
    confidential: false,
    lines: u.lines.map((l) => ({
      description: l.description,
      quantity: l.quantity,
      unitPrice: l.unitPrice,
      net: l.net,
      taxRate: l.taxRate,
    })),
  };
  // The same rules as a JSON invoice, with the problems named by the element they came from.
  const checked = UblInvoiceIntake.safeParse(invoice);
  if (!checked.success) {
    const details = checked.error.issues.map((i) => ({ path: ublPath(u.rootName, i.path), message: i.message }));
    throw new ApiError(422, 'validation_failed', `The UBL document is not valid: ${details[0]!.path}: ${details[0]!.message}`, details);
  }
  return {
    invoice: checked.data,
    document: { contentType, bytes },
    ubl: { customizationId: u.customizationId, profileId: u.profileId, totals: u.totals, attachments: u.attachments, warnings: u.warnings },
  };
}

const SUPPLIER = 'cac:AccountingSupplierParty/cac:Party';

/** Where in the UBL document a field of the mapped invoice comes from, as an element path. */
export function ublPath(rootName: 'Invoice' | 'CreditNote', path: readonly PropertyKey[]): string {
  const [field, index, sub] = path.map(String);
  const root = `/${rootName}`;
  const line = rootName === 'Invoice' ? 'cac:InvoiceLine' : 'cac:CreditNoteLine';
  const quantity = rootName === 'Invoice' ? 'cbc:InvoicedQuantity' : 'cbc:CreditedQuantity';
  const paths: Record<string, string> = {
    invoiceNumber: 'cbc:ID',
    invoiceDate: 'cbc:IssueDate',
    dueDate: rootName === 'Invoice' ? 'cbc:DueDate' : 'cac:PaymentMeans/cbc:PaymentDueDate',
    currency: 'cbc:DocumentCurrencyCode',
    net: 'cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount',
    tax: 'cac:TaxTotal/cbc:TaxAmount',
    gross: 'cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount',
    buyerReference: 'cbc:BuyerReference',
    orderReference: 'cac:OrderReference/cbc:ID',
    contractReference: 'cac:ContractDocumentReference/cbc:ID',
  };
  if (field === 'vendor') {
    const party: Record<string, string> = {
      name: 'cac:PartyLegalEntity/cbc:RegistrationName',
      vatNumber: 'cac:PartyTaxScheme/cbc:CompanyID',
      endpointId: 'cbc:EndpointID',
      email: 'cac:Contact/cbc:ElectronicMail',
    };
    return `${root}/${SUPPLIER}/${party[index ?? ''] ?? ''}`.replace(/\/$/, '');
  }
  if (field === 'lines' && index !== undefined) {
    const at = `${root}/${line}[${Number.parseInt(index, 10) + 1}]`;
    const fields: Record<string, string> = {
      description: 'cac:Item/cbc:Name',
      quantity,
      unitPrice: 'cac:Price/cbc:PriceAmount',
      net: 'cbc:LineExtensionAmount',
      taxRate: 'cac:Item/cac:ClassifiedTaxCategory/cbc:Percent',
    };
    return sub && fields[sub] ? `${at}/${fields[sub]}` : at;
  }
  return field && paths[field] ? `${root}/${paths[field]}` : root;
}
