/**
 * Payload validation inside the workflow, with the API's own schemas. The worker preloads this
 * module: one set of schemas serves every workflow in the V8 context (about 0.9 MiB less per
 * cached workflow than a set each), kept in module scope where the SDK does not freeze it.
 */
import type { z } from 'zod';
import type { ActionName } from './definitions';
import { buildPayloadSchemas } from './payload-schemas';

const { PAYLOAD_SCHEMAS } = buildPayloadSchemas();
type Schemas = typeof PAYLOAD_SCHEMAS;

export type ParsedPayload<K extends ActionName> = { ok: true; payload: z.infer<Schemas[K]> } | { ok: false; problems: string };

/** The payload as its action's schema reads it, or the problems in one line for the refusal. */
export function parsePayload<K extends ActionName>(kind: K, raw: unknown): ParsedPayload<K> {
  const parsed = PAYLOAD_SCHEMAS[kind].safeParse(raw);
  if (parsed.success) return { ok: true, payload: parsed.data as z.infer<Schemas[K]> };
  return { ok: false, problems: parsed.error.issues.map((i) => `${i.path.map(String).join('.') || 'payload'}: ${i.message}`).join('; ') };
}
