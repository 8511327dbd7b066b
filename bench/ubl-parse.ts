/**
 * UBL parsing throughput: documents per second through parseXml + readUbl (what intake does
 * before touching the database), for a typical Peppol invoice and a 1,000-line one.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readUbl } from '../domain/ubl/invoice';
import { parseXml } from '../domain/ubl/xml';
import { peppolInvoice } from './ubl-documents';

export interface ParseFigure {
  name: string;
  bytes: number;
  lines: number;
  docsPerSecond: number;
  msPerDoc: number;
}

function measure(name: string, doc: Buffer, seconds: number): ParseFigure {
  const check = readUbl(parseXml(doc));
  if (!check.ok) throw new Error(`${name} does not validate: ${JSON.stringify(check.problems)}`);
  for (let i = 0; i < 20; i++) readUbl(parseXml(doc)); // warm up
  let count = 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(seconds * 1e9));
  let now = started;
  while (now < deadline) {
    readUbl(parseXml(doc));
    count += 1;
    now = process.hrtime.bigint();
  }
  const elapsed = Number(now - started) / 1e9;
  return { name, bytes: doc.length, lines: check.invoice.lines.length, docsPerSecond: count / elapsed, msPerDoc: (elapsed * 1000) / count };
}

export function ublParseFigures(seconds = 3): ParseFigure[] {
  const typical = readFileSync(path.join(__dirname, '..', 'test', 'fixtures', 'ubl', 'Invoice-Min_content_with_VAT.xml'));
  return [
    measure('typical Peppol invoice (Invoice-Min_content_with_VAT.xml)', typical, seconds),
    measure(
      'EN 16931 example, 20 lines (ubl-tc434-example1.xml)',
      readFileSync(path.join(__dirname, '..', 'test', 'fixtures', 'ubl', 'ubl-tc434-example1.xml')),
      seconds,
    ),
    measure('synthetic Peppol invoice, 1,000 lines', Buffer.from(peppolInvoice(1000)), seconds),
  ];
}
