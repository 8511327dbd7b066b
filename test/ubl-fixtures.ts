/**
 * The UBL fixture folder and what its README says about each file. Reads `../shared/fixtures/ubl`
 * at test time; without it, only the copies in `test/fixtures/ubl` are available.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const SHARED_UBL = path.resolve(__dirname, '../../shared/fixtures/ubl');
export const LOCAL_UBL = path.join(__dirname, 'fixtures', 'ubl');

export interface FixtureExpectation {
  file: string;
  path: string;
  root: 'Invoice' | 'CreditNote' | 'other';
  currency: string;
  lines: number;
  valid: boolean;
  /** The README's CustomizationID column names an EN 16931 profile (not "none", not a placeholder). */
  en16931: boolean;
  negative: boolean;
  /** The README's own words on validity. */
  verdict: string;
}

/** Every data file of the shared folder with the README's table row for it. */
export function sharedFixtures(): FixtureExpectation[] {
  const readme = readFileSync(path.join(SHARED_UBL, 'README.md'), 'utf8');
  const rows = new Map<string, string[]>();
  for (const line of readme.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const name = /^`([^`]+)`$/.exec(cells[1] ?? '')?.[1];
    if (name && cells.length >= 12) rows.set(name, cells.slice(1, -1));
  }
  const files: FixtureExpectation[] = [];
  for (const dir of readdirSync(SHARED_UBL, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const file of readdirSync(path.join(SHARED_UBL, dir.name)).filter((f) => /\.xml$/i.test(f))) {
      const row = rows.get(file);
      if (!row) throw new Error(`the fixture README has no row for ${file}`);
      const [, , document = '', customization = '', currency = '', lines = '', , , , features = '', verdict = ''] = row;
      files.push({
        file,
        path: path.join(SHARED_UBL, dir.name, file),
        root: document.startsWith('Invoice') ? 'Invoice' : document.startsWith('CreditNote') ? 'CreditNote' : 'other',
        currency: currency.split(' ')[0] ?? '',
        lines: Number.parseInt(lines, 10),
        valid: /^valid/.test(verdict),
        en16931: /^(Peppol BIS|EN 16931|XRechnung)/.test(customization),
        negative: /negative total/.test(features),
        verdict,
      });
    }
  }
  return files.sort((a, b) => a.file.localeCompare(b.file));
}

export const hasSharedFixtures = (): boolean => existsSync(path.join(SHARED_UBL, 'README.md'));

/** A fixture by file name, from the shared folder or the local copies. */
export function fixture(file: string): Buffer {
  const local = path.join(LOCAL_UBL, file);
  if (existsSync(local)) return readFileSync(local);
  const shared = hasSharedFixtures() ? sharedFixtures().find((f) => f.file === file) : undefined;
  if (!shared) throw new Error(`fixture ${file} is not available`);
  return readFileSync(shared.path);
}

/** Independent of the parser: first text of an element by regular expression. */
export function firstText(xml: string, element: string, within?: string): string | undefined {
  const scope = within ? (new RegExp(`<(?:\\w+:)?${within}[\\s>][\\s\\S]*?</(?:\\w+:)?${within}>`).exec(xml)?.[0] ?? '') : xml;
  const raw = new RegExp(`<(?:\\w+:)?${element}(?:\\s[^>]*)?>([^<]*)</`).exec(scope)?.[1]?.trim();
  return raw
    ?.replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}
