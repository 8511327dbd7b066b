/**
 * The development mail catcher of `npm run dev`: an SMTP server in the launcher's process that
 * takes every mail the worker sends and keeps it as an .eml file, which the API shows at /dev/mail
 * (api/dev-mail.ts). Nothing leaves the machine.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';

export interface DevMailCatcher {
  /** SMTP_URL for the worker. */
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/** Only the newest mails are kept. */
const KEEP = 500;

/** Listens on 127.0.0.1 (`port` 0: a free one) and writes each mail to `dir`/<time>-<n>.eml. */
export async function startDevMailCatcher({ dir, port = 0 }: { dir: string; port?: number }): Promise<DevMailCatcher> {
  await mkdir(dir, { recursive: true });
  let n = 0;
  const prune = async () => {
    const files = (await readdir(dir)).filter((f) => f.endsWith('.eml')).sort();
    await Promise.all(files.slice(0, Math.max(0, files.length - KEEP)).map((f) => rm(path.join(dir, f), { force: true })));
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 25 * 1024 * 1024,
    rejectOversized: true,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        // The envelope first, as a header a mail reader ignores: Bcc recipients show too.
        const envelope = `X-Dev-Envelope-To: ${session.envelope.rcptTo.map((r) => r.address).join(', ')}\r\n`;
        n += 1;
        const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${String(n).padStart(6, '0')}.eml`);
        writeFile(file, Buffer.concat([Buffer.from(envelope), ...chunks]))
          .then(prune)
          .then(
            () => callback(),
            (err: Error) => callback(err),
          );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.server.address() as AddressInfo).port;
  return { url: `smtp://127.0.0.1:${bound}`, dir, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
