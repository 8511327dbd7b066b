/**
 * The texts of every mail invoiceflow writes, kept as files in `mail-templates/` so they can be
 * read and changed without touching code. A mail template's first line is its subject, then an
 * empty line, then the body; a `.line.txt` template is one line of a list (a digest's invoices).
 * `{{name}}` placeholders are filled by `renderTemplate` (text only, no markup, no code).
 *
 * Loaded once per process and checked at load: every template present, every placeholder one the
 * code fills, so a typo stops the worker at start instead of sending mails with gaps.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { renderTemplate } from '../domain/start-rules';

/** The mail templates and the placeholders each may use. */
const MAILS = {
  reminder: ['invoiceNumber', 'vendorName', 'stage', 'gross', 'currency', 'dueDate', 'invoiceDate', 'taskId'],
  escalation: ['invoiceNumber', 'vendorName', 'stage', 'gross', 'currency', 'dueDate', 'invoiceDate', 'taskId'],
  'supplier-reminder': ['invoiceNumber', 'vendorName', 'gross', 'currency', 'dueDate', 'invoiceDate', 'question', 'companyName'],
  'clerk-notice': ['invoiceNumber', 'vendorName', 'stage', 'gross', 'currency', 'dueDate', 'invoiceDate', 'taskId'],
  'past-due-digest': ['name', 'day', 'count', 'invoices'],
  'agreement-check': ['day', 'findings', 'lines'],
} as const;

/** One-line templates, for the items of a list. */
const LINES = {
  'past-due-digest': ['invoiceNumber', 'vendorName', 'gross', 'currency', 'dueDate', 'stage'],
  'agreement-overdue': ['vendorName', 'agreementId', 'due', 'lastDate'],
  'agreement-near-cap': ['agreementId', 'vendorName', 'total', 'cap'],
} as const;

export type MailTemplateName = keyof typeof MAILS;
export type LineTemplateName = keyof typeof LINES;
type Values<P extends readonly string[]> = Record<P[number], string | null | undefined>;

export interface RenderedMail {
  subject: string;
  text: string;
}

export interface MailTemplates {
  /** The mail `name` with its placeholders filled. */
  mail<N extends MailTemplateName>(name: N, values: Values<(typeof MAILS)[N]>): RenderedMail;
  /** The list line `name` with its placeholders filled. */
  line<N extends LineTemplateName>(name: N, values: Values<(typeof LINES)[N]>): string;
}

/** `<root>/mail-templates`, from the sources (lib/) and from the compiled dist/lib/ alike. */
export function defaultTemplateDir(): string {
  const candidates = [path.resolve(__dirname, '..', 'mail-templates'), path.resolve(__dirname, '..', '..', 'mail-templates')];
  const found = candidates.find((dir) => existsSync(path.join(dir, 'reminder.txt')));
  if (!found) throw new Error(`mail templates not found (looked in ${candidates.join(' and ')})`);
  return found;
}

function placeholders(text: string): string[] {
  return [...text.matchAll(/\{\{\s*([A-Za-z]+)\s*\}\}/g)].map((m) => m[1]!);
}

function read(dir: string, file: string, allowed: readonly string[]): string {
  const full = path.join(dir, file);
  let text: string;
  try {
    text = readFileSync(full, 'utf8').replace(/\r\n/g, '\n');
  } catch (err) {
    throw new Error(`mail template ${full} cannot be read: ${(err as Error).message}`);
  }
  const unknown = placeholders(text).filter((p) => !allowed.includes(p));
  if (unknown.length > 0)
    throw new Error(`mail template ${full} uses unknown placeholders: ${unknown.join(', ')} (known: ${allowed.join(', ')})`);
  return text;
}

/** Reads and checks every template in `dir`; throws a message naming the file at the first problem. */
export function loadMailTemplates(dir: string = defaultTemplateDir()): MailTemplates {
  const mails = new Map<string, { subject: string; body: string }>();
  for (const [name, allowed] of Object.entries(MAILS)) {
    const text = read(dir, `${name}.txt`, allowed);
    const [subject = '', blank, ...body] = text.split('\n');
    if (!subject.trim() || blank === undefined || blank.trim() !== '') {
      throw new Error(
        `mail template ${path.join(dir, `${name}.txt`)}: the subject goes on the first line, then one empty line, then the body`,
      );
    }
    mails.set(name, { subject: subject.trim(), body: `${body.join('\n').trimEnd()}\n` });
  }
  const lines = new Map<string, string>();
  for (const [name, allowed] of Object.entries(LINES)) {
    const text = read(dir, `${name}.line.txt`, allowed).trim();
    if (text.includes('\n')) throw new Error(`mail template ${path.join(dir, `${name}.line.txt`)} must be one line`);
    lines.set(name, text);
  }
  return {
    mail(name, values) {
      const t = mails.get(name)!;
      // A subject is one line whatever a value holds.
      return { subject: renderTemplate(t.subject, values).replace(/\s*[\r\n]+\s*/g, ' '), text: renderTemplate(t.body, values) };
    },
    line(name, values) {
      return renderTemplate(lines.get(name)!, values).replace(/\s*[\r\n]+\s*/g, ' ');
    },
  };
}

let loaded: MailTemplates | undefined;

/** The templates of `mail-templates/`, read at the first call and kept for the life of the process. */
export function mailTemplates(): MailTemplates {
  loaded ??= loadMailTemplates();
  return loaded;
}
