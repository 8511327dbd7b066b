/**
 * GET /dev/mail (development only): the mails the dev launcher's catcher received (scripts/dev-mail.ts
 * keeps them as .eml files in DEV_MAIL_DIR), newest first, as a plain page.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RequestHandler } from 'express';
import { simpleParser } from 'mailparser';
import type { ApiDocs } from './openapi';

const SHOWN = 100;

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function addresses(value: { text: string } | { text: string }[] | undefined): string {
  if (!value) return '';
  return Array.isArray(value) ? value.map((v) => v.text).join(', ') : value.text;
}

/** The page of received mails in `dir`. */
export function devMailPage(dir: string): RequestHandler {
  return async (_req, res) => {
    const files = (await readdir(dir).catch(() => [] as string[]))
      .filter((f) => f.endsWith('.eml'))
      .sort()
      .reverse()
      .slice(0, SHOWN);
    const items = await Promise.all(
      files.map(async (file) => {
        const mail = await simpleParser(await readFile(path.join(dir, file)), { skipTextToHtml: true, skipImageLinks: true });
        const to = mail.headers.get('x-dev-envelope-to');
        const rows = [
          ['From', addresses(mail.from)],
          ['To', typeof to === 'string' ? to : addresses(mail.to)],
          ['Reply-To', addresses(mail.replyTo)],
          ['Date', mail.date?.toISOString() ?? ''],
        ].filter(([, v]) => v);
        return (
          `<article><h2>${escape(mail.subject ?? '(no subject)')}</h2><dl>` +
          rows.map(([k, v]) => `<dt>${k}</dt><dd>${escape(v!)}</dd>`).join('') +
          `</dl><pre>${escape(mail.text ?? '')}</pre></article><hr>`
        );
      }),
    );
    res
      .type('html')
      .set('Cache-Control', 'no-store')
      .send(
        '<!doctype html><html lang="en"><meta charset="utf-8"><title>invoiceflow: development mail</title>' +
          `<h1>Mail sent by invoiceflow (development)</h1><p>${files.length === 0 ? 'No mail yet.' : `The newest ${files.length}, newest first. Reload to see new ones.`}</p>` +
          items.join('') +
          '</html>',
      );
  };
}

export const devMailDocs: ApiDocs = (d) => {
  d.registry.registerPath({
    method: 'get',
    path: '/dev/mail',
    tags: ['System'],
    summary: 'Development only (npm run dev, never with NODE_ENV=production): the mails the development mail catcher received',
    responses: { 200: { description: 'An HTML page listing the mails, newest first' } },
  });
};
