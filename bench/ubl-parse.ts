/**
 * UBL parsing throughput: documents per second through parseXml + readUbl (what intake does
 * before touching the database), for a typical Peppol invoice and a 1,000-line one, beside the
 * baseline of the same document run through the bare saxes tokenizer (no handlers, no tree, no
 * checks) in the same run.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readUbl } from '../domain/ubl/invoice';
import { SaxesParser } from 'saxes';
import { parseXml } from '../domain/ubl/xml';
import { peppolInvoice } from './ubl-documents';

export interface ParseFigure {
  name: string;
  bytes: number;
  lines: number;
  docsPerSecond: number;
  msPerDoc: number;
  /** The same document through the bare saxes tokenizer (namespace-aware, no handlers). */
  bareSaxesDocsPerSecond: number;
}

/** Runs `f` repeatedly for `seconds` after a warm-up; documents per second. */
function rate(f: () => void, seconds: number): number {
  for (let i = 0; i < 20; i++) f(); // warm up
  let count = 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(seconds * 1e9));
  let now = started;
  while (now < deadline) {
    f();
    count += 1;
    now = process.hrtime.bigint();
  }
  return count / (Number(now - started) / 1e9);
}

function measure(name: string, doc: Buffer, seconds: number): ParseFigure {
  const check = readUbl(parseXml(doc));
  if (!check.ok) throw new Error(`${name} does not validate: ${JSON.stringify(check.problems)}`);
  const docsPerSecond = rate(() => readUbl(parseXml(doc)), seconds);
  const bareSaxesDocsPerSecond = rate(() => new SaxesParser({ xmlns: true }).write(doc.toString('utf8')).close(), seconds);
  return {
    name,
    bytes: doc.length,
    lines: check.invoice.lines.length,
    docsPerSecond,
    msPerDoc: 1000 / docsPerSecond,
    bareSaxesDocsPerSecond,
  };
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
