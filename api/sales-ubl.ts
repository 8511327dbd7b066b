/**
 * A sales invoice received as UBL 2.1 (SPEC 2.5): the company is the seller. The document is read
 * and checked as any UBL invoice is (ublIntakeRequest: EN 16931 rules, totals, limits), then mapped
 * to the JSON body of `POST /sales-invoices`: the buyer is one of the company's customers (by VAT
 * number, endpoint id, then name), each line's product is the seller's item id (`cac:Item/
 * cac:SellersItemIdentification/cbc:ID`, the SKU) or else its name, serial numbers come from
 * `cac:Item/cac:ItemInstance/cbc:SerialID`, and the document's totals must equal the lines'.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { companies, customers, products } from '../db/schema';
import { children, parseXml, path, text, type XmlElement } from '../domain/ubl/xml';
import type { CurrentUser } from './auth';
import { ApiError } from './errors';
import { ublIntakeRequest } from './ubl-intake';

const same = (a: string | undefined | null, b: string | undefined | null) =>
  !!a && !!b && a.trim().toLocaleLowerCase() === b.trim().toLocaleLowerCase();

const CUSTOMER = '/Invoice/cac:AccountingCustomerParty/cac:Party';

function buyerOf(root: XmlElement): { name?: string; vatNumber?: string; endpointId?: string } {
  const party = path(root, 'AccountingCustomerParty', 'Party');
  const vat = children(party, 'PartyTaxScheme').find((s) => text(s, 'TaxScheme', 'ID') === 'VAT');
  const endpoint = path(party, 'EndpointID');
  const endpointValue = endpoint?.text.trim();
  return {
    ...((text(party, 'PartyLegalEntity', 'RegistrationName') ?? text(party, 'PartyName', 'Name'))
      ? { name: text(party, 'PartyLegalEntity', 'RegistrationName') ?? text(party, 'PartyName', 'Name') }
      : {}),
    ...(text(vat, 'CompanyID') ? { vatNumber: text(vat, 'CompanyID') } : {}),
    ...(endpointValue ? { endpointId: endpoint?.attrs.schemeID ? `${endpoint.attrs.schemeID}:${endpointValue}` : endpointValue } : {}),
  };
}

/** The JSON body of `POST /sales-invoices` that a UBL sales invoice stands for, or a 4xx naming the element at fault. */
export async function salesInvoiceFromUbl(db: Db, user: CurrentUser, bytes: Buffer): Promise<Record<string, unknown>> {
  if (!Buffer.isBuffer(bytes)) throw new ApiError(400, 'malformed_xml', 'The XML cannot be read: the body is empty');
  const { invoice } = ublIntakeRequest(bytes, 'application/xml');
  if (invoice.documentType !== 'invoice') {
    throw new ApiError(422, 'unsupported_document', 'Sales credit notes are not taken as UBL yet: only invoices');
  }
  const [company] = await db.select({ name: companies.name }).from(companies).where(eq(companies.id, user.companyId));
  const seller = 'name' in invoice.vendor ? invoice.vendor.name : '';
  if (!same(seller, company?.name)) {
    throw new ApiError(
      422,
      'not_the_seller',
      `The seller of this invoice is "${seller}", not ${company?.name ?? 'your company'}: a purchase invoice goes to POST /invoices`,
      [{ path: '/Invoice/cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName', message: 'not your company' }],
    );
  }
  const root = parseXml(bytes);
  const problems: { path: string; message: string }[] = [];

  const buyer = buyerOf(root);
  const known = await db.select().from(customers).where(eq(customers.companyId, user.companyId));
  const customer =
    (buyer.vatNumber && known.find((c) => same(c.vatNumber, buyer.vatNumber))) ||
    (buyer.endpointId && known.find((c) => same(c.endpointId, buyer.endpointId))) ||
    (buyer.name && known.find((c) => same(c.name, buyer.name))) ||
    undefined;
  if (!customer) {
    const named = [
      buyer.name && `"${buyer.name}"`,
      buyer.vatNumber && `VAT ${buyer.vatNumber}`,
      buyer.endpointId && `endpoint ${buyer.endpointId}`,
    ]
      .filter(Boolean)
      .join(', ');
    problems.push({ path: CUSTOMER, message: `no customer of yours matches the buyer (${named || 'unnamed'}): add the customer first` });
  }

  const catalogue = await db.select().from(products).where(eq(products.companyId, user.companyId));
  const lineElements = children(root, 'InvoiceLine');
  const lines = invoice.lines.map((l, i) => {
    const item = path(lineElements[i], 'Item');
    const sku = text(item, 'SellersItemIdentification', 'ID');
    const product = sku ? catalogue.find((p) => p.sku === sku) : catalogue.find((p) => same(p.name, l.description));
    const at = `/Invoice/cac:InvoiceLine[${i + 1}]/cac:Item`;
    if (!product) {
      problems.push(
        sku
          ? { path: `${at}/cac:SellersItemIdentification/cbc:ID`, message: `no product of yours has the SKU "${sku}"` }
          : { path: `${at}/cbc:Name`, message: `no product of yours is named "${l.description}" (send the SKU as the seller's item id)` },
      );
    }
    const serialNumbers = children(item, 'ItemInstance')
      .map((instance) => text(instance, 'SerialID'))
      .filter((s): s is string => !!s);
    return {
      productId: product?.id ?? '',
      description: l.description,
      quantity: l.quantity,
      unitPrice: l.unitPrice,
      taxRate: l.taxRate,
      ...(serialNumbers.length > 0 ? { serialNumbers } : {}),
    };
  });
  if (problems.length > 0) {
    throw new ApiError(422, 'validation_failed', `The UBL sales invoice cannot be taken: ${problems[0]!.message}`, problems);
  }
  return {
    customer: { id: customer!.id },
    invoiceNumber: invoice.invoiceNumber,
    invoiceDate: invoice.invoiceDate,
    // Without a due date in the document, the customer's payment terms give it.
    ...((text(root, 'DueDate') ?? text(root, 'PaymentMeans', 'PaymentDueDate')) ? { dueDate: invoice.dueDate } : {}),
    currency: invoice.currency,
    lines,
    net: invoice.net,
    tax: invoice.tax,
    gross: invoice.gross,
  };
}
