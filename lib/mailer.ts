import nodemailer, { type Transporter } from 'nodemailer';

/** SMTP when SMTP_URL is set; otherwise messages are rendered to JSON and not sent (development). */
export function createMailer(smtpUrl: string | undefined): Transporter {
  if (!smtpUrl) return nodemailer.createTransport({ jsonTransport: true });
  // Short timeouts: a mail server that is down must fail fast, and the outbox tries again later.
  const url = new URL(smtpUrl);
  for (const [name, ms] of [
    ['connectionTimeout', '10000'],
    ['greetingTimeout', '10000'],
    ['socketTimeout', '30000'],
  ]) {
    if (!url.searchParams.has(name!)) url.searchParams.set(name!, ms!);
  }
  return nodemailer.createTransport(url.toString());
}
