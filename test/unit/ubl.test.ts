import fc from 'fast-check';
import { readUbl } from '../../domain/ubl/invoice';
import { parseXml, XmlError } from '../../domain/ubl/xml';
import { fixture } from '../ubl-fixtures';

const minimal = fixture('Invoice-Min_content_with_VAT.xml').toString('utf8');

/** Parses and reads; anything but an XmlError must not escape. */
function intake(doc: string | Buffer) {
  try {
    return readUbl(parseXml(doc));
  } catch (err) {
    if (err instanceof XmlError) return { ok: false as const, xml: err.kind };
    throw err;
  }
}

describe('UBL reading', () => {
  it('reads the minimal Peppol invoice exactly', () => {
    const result = intake(minimal);
    expect(result).toMatchObject({
      ok: true,
      invoice: {
        documentType: 'invoice',
        invoiceNumber: '2018-112',
        currency: 'SEK',
        net: '400.00',
        tax: '100.00',
        gross: '500.00',
        supplier: { name: 'Säljbolaget AB', vatNumber: 'SE123451234501', endpointId: '0007:1234512345' },
        buyerReference: 'ACE22',
      },
    });
  });

  it('resolves namespace prefixes instead of trusting them', () => {
    const prefixed = minimal
      .replace(
        /<Invoice[\s\S]*?>/,
        '<ubl:Invoice xmlns:ubl="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" xmlns:x="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2" xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">',
      )
      .replace('</Invoice>', '</ubl:Invoice>');
    expect(intake(prefixed)).toMatchObject({ ok: true });
    const wrongCbc = minimal.replace(
      'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"',
      'xmlns:cbc="urn:example:not-cbc"',
    );
    expect(intake(wrongCbc)).toMatchObject({
      ok: false,
      problems: expect.arrayContaining([expect.objectContaining({ message: expect.stringContaining('namespace') })]),
    });
  });

  it('turns a negative invoice into a credit note with positive amounts', () => {
    const negative = minimal
      .replace(
        /(<cbc:(?:LineExtensionAmount|TaxExclusiveAmount|TaxInclusiveAmount|PayableAmount|TaxAmount|TaxableAmount) currencyID="SEK">)(\d)/g,
        '$1-$2',
      )
      .replace(/(<cbc:InvoicedQuantity[^>]*>)(\d)/, '$1-$2');
    const result = intake(negative);
    expect(result).toMatchObject({ ok: true, invoice: { documentType: 'credit_note', gross: '500.00', totals: { payable: '-500.00' } } });
  });

  it('refuses DOCTYPE declarations, so entities are never expanded', () => {
    expect(() => parseXml('<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>')).toThrow(/DOCTYPE/);
  });

  it('never throws anything but a refusal, whatever the bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        intake(Buffer.from(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on mutations of a real invoice, and every accepted one balances (property)', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 200 }) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ maxLength: 30 }) }),
      fc.record({ kind: fc.constant('digit' as const), at: fc.nat(), digit: fc.integer({ min: 0, max: 9 }) }),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        let doc = minimal;
        for (const m of mutations) {
          const at = m.at % (doc.length + 1);
          if (m.kind === 'delete') doc = doc.slice(0, at) + doc.slice(at + m.length);
          else if (m.kind === 'insert') doc = doc.slice(0, at) + m.text + doc.slice(at);
          else {
            const digits = [...doc.matchAll(/\d/g)];
            const hit = digits[at % Math.max(digits.length, 1)];
            if (hit?.index !== undefined) doc = doc.slice(0, hit.index) + String(m.digit) + doc.slice(hit.index + 1);
          }
        }
        const result = intake(doc);
        if (result.ok && 'invoice' in result) {
          const { net, tax, gross } = result.invoice;
          expect(Math.round((Number(net) + Number(tax)) * 100)).toBe(Math.round(Number(gross) * 100));
        }
      }),
      { numRuns: 400 },
    );
  });
});
