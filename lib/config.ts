import { z } from 'zod';

/** Process configuration, read once from the environment and validated at start-up. */
const ConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  MAIL_FROM: z.string().min(3).default('invoiceflow <invoiceflow@localhost>'),
  /** Signs the reply addresses of mails to suppliers (required in production; development has a fixed one). */
  REPLY_SECRET: z.string().min(16).optional(),
  /** The domain the inbound SMTP endpoint receives supplier answers for (replies+<token>@<domain>). */
  REPLY_DOMAIN: z.string().min(3).default('invoiceflow.localhost'),
  /** Port of the inbound SMTP endpoint (supplier answers). */
  INBOUND_SMTP_PORT: z.coerce.number().int().min(0).max(65535).default(2525),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Address the API listens on: loopback in development, every interface in production (containers). */
  HOST: z.string().min(1).optional(),
  /** Days after an agreement's next invoice was due before the daily check reports it. */
  AGREEMENT_GRACE_DAYS: z.coerce.number().int().min(0).max(365).default(5),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof ConfigSchema>;

/** Parses the environment; throws one readable error listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid configuration:\n${problems}`);
  }
  return parsed.data;
}

/** The reply addressing of supplier mails; a development secret only outside production. */
export function replyAddressing(config: Config): { secret: string; domain: string } {
  if (!config.REPLY_SECRET && config.NODE_ENV === 'production')
    throw new Error('REPLY_SECRET is not set: supplier mails need it to sign their reply addresses');
  return { secret: config.REPLY_SECRET ?? 'development-reply-secret-not-for-production', domain: config.REPLY_DOMAIN };
}

/** Where the API listens: HOST, else 127.0.0.1 in development and 0.0.0.0 in production. */
export function listenHost(config: Config): string {
  return config.HOST ?? (config.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1');
}

/** The database URL, which the processes (unlike the dev launcher) cannot do without. */
export function requireDatabaseUrl(config: Config): string {
  if (!config.DATABASE_URL) {
    throw new Error('DATABASE_URL is not set. Start everything with `npm run dev`, or set DATABASE_URL.');
  }
  return config.DATABASE_URL;
}
