/**
 * The address a supplier's answer comes back to: `replies+<token>@<domain>`, where the token names
 * the invoice and is signed (HMAC-SHA256 with REPLY_SECRET) with an expiry, so an answer can only
 * land on the invoice it was asked about, and a forged or stale one is dropped.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface ReplyAddressing {
  secret: string;
  /** The mail domain the inbound SMTP endpoint receives for. */
  domain: string;
  /** How long an answer is accepted after the question; default 60 days. */
  validForMs?: number;
}

const LOCAL = 'replies';

function sign(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64url').slice(0, 22);
}

/** The reply address for a question about `invoiceId` asked at `now`. */
export function replyAddressFor(invoiceId: string, now: Date, a: ReplyAddressing): string {
  const expires = Math.floor((now.getTime() + (a.validForMs ?? 60 * 86_400_000)) / 1000).toString(36);
  const id = invoiceId.replace(/-/g, '');
  const payload = `${id}.${expires}`;
  return `${LOCAL}+${payload}.${sign(a.secret, payload)}@${a.domain}`;
}

/** The invoice a reply address names, or why it is refused (forged, expired, not ours). */
export function invoiceOfReplyAddress(address: string, now: Date, a: ReplyAddressing): { invoiceId: string } | { refused: string } {
  const match = /^replies\+([0-9a-f]{32})\.([0-9a-z]{1,12})\.([A-Za-z0-9_-]{22})@(.+)$/i.exec(address.trim());
  if (!match) return { refused: 'not a reply address' };
  const [, id, expires, signature, domain] = match as unknown as [string, string, string, string, string];
  if (domain.toLowerCase() !== a.domain.toLowerCase()) return { refused: `not for ${a.domain}` };
  const expected = Buffer.from(sign(a.secret, `${id.toLowerCase()}.${expires}`));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { refused: 'the token is forged' };
  if (Number.parseInt(expires, 36) * 1000 < now.getTime()) return { refused: 'the token has expired' };
  const hex = id.toLowerCase();
  return { invoiceId: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` };
}
