import nodemailer, { type Transporter } from 'nodemailer';

/** SMTP when SMTP_URL is set; otherwise messages are rendered to JSON and not sent (development). */
export function createMailer(smtpUrl: string | undefined): Transporter {
  return smtpUrl ? nodemailer.createTransport(smtpUrl) : nodemailer.createTransport({ jsonTransport: true });
}
