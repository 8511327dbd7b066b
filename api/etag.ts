import { eq, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Request } from 'express';
import { z } from 'zod';
import type { Db, Tx } from '../db/client';
import { ApiError } from './errors';
import type { DocsBuilder } from './openapi';

/*
 * Optimistic concurrency of master data: every object carries a `version` that each write through
 * the API increments. Reads answer it as `ETag: "v<version>"`; a write with `If-Match` changes the
 * object only at that version (the UPDATE or DELETE itself carries `version = <expected>`, so two
 * admins who read the same version cannot both win). Without If-Match a write proceeds, as before.
 */

/** The ETag of an object at `version`. */
export function etag(version: number): string {
  return `"v${version}"`;
}

/**
 * The version the request's If-Match names, or undefined when there is none (or `*`: any version).
 * Anything else than one `"v<digits>"` can name no version of ours: 412.
 */
export function expectedVersion(req: Request): number | undefined {
  const header = req.get('if-match');
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^"v(\d{1,9})"$/.exec(header.trim());
  if (!match) {
    throw new ApiError(
      412,
      'stale_version',
      `If-Match ${JSON.stringify(header)} names no version; send the ETag of your last GET, such as "v3", or leave If-Match out`,
    );
  }
  return Number.parseInt(match[1]!, 10);
}

/** 412: the object is at `current`, not at the version the client edited. */
export function staleVersion(current: number): ApiError {
  return new ApiError(412, 'stale_version', `It was changed meanwhile (version ${current}); reload it and apply your change again`);
}

/**
 * Refuses early when If-Match names another version than the one just read: the client learns of
 * the conflict before any validation of what it sent. The guarded write below still decides.
 */
export function checkVersion(expected: number | undefined, current: number): void {
  if (expected !== undefined && expected !== current) throw staleVersion(current);
}

/** `version + 1`, for the SET of an API write. */
export function nextVersion(column: PgColumn): SQL {
  return sql`${column} + 1`;
}

/** The condition that makes a write happen only at the expected version; none without If-Match. */
export function atVersion(column: PgColumn, expected: number | undefined): SQL | undefined {
  return expected === undefined ? undefined : eq(column, expected);
}

/**
 * Why a write guarded by `atVersion` touched no row: 412 naming the version the row has now, or
 * 404 when it is gone. Read in the writer's transaction, which waited for the winner to commit.
 */
export async function notWritten(
  db: Db | Tx,
  table: PgTable & { version: PgColumn },
  where: SQL | undefined,
  noun: string,
): Promise<ApiError> {
  const [row] = await db.select({ version: table.version }).from(table).where(where);
  return row ? staleVersion(row.version as number) : ApiError.notFound(noun);
}

/** The If-Match request header in the OpenAPI document. */
export const IfMatchHeader = z.object({
  'if-match': z
    .string()
    .optional()
    .openapi({
      description:
        'The ETag of the version you edited (from the GET, or the answer of your last write). Send it: without it the write ' +
        "overwrites whatever changed meanwhile. '*' matches any version",
      example: '"v3"',
    }),
});

/** OpenAPI: an answer carrying the object with its ETag. */
export function versionedJson(d: DocsBuilder, schema: z.ZodType, description: string) {
  return {
    ...d.json(schema, description),
    headers: {
      ETag: {
        description: 'The version of the object, "v<version>": the If-Match of your next change',
        schema: { type: 'string' as const, example: '"v3"' },
      },
    },
  };
}

/** OpenAPI: the 412 of a versioned write. */
export function staleResponse(d: DocsBuilder) {
  return d.error('If-Match names another version (stale_version): it was changed meanwhile; reload it and apply the change again');
}
