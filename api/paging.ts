/** Keyset paging of the master-data lists: `{items, nextCursor}` ordered by a sort key and the id. */
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { z } from 'zod';
import { ApiError } from './errors';

extendZodWithOpenApi(z);

/** The `limit` and `cursor` query parameters every paged list takes. */
export const pageParams = {
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(1000).optional().openapi({ description: 'nextCursor of the previous page' }),
};

/** A `true`/`false` query filter (query strings carry no booleans). */
export const booleanFilter = (description: string) => z.enum(['true', 'false']).optional().openapi({ description });

/** Where a page ends: the last row's sort key and id. */
export type Position = [key: string, id: string];

export function decodeCursor(raw: string | undefined): Position | undefined {
  if (!raw) return undefined;
  try {
    const position: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (Array.isArray(position) && position.length === 2 && position.every((p) => typeof p === 'string')) return position as Position;
  } catch {
    // answered below
  }
  throw new ApiError(400, 'bad_cursor', 'The cursor is not one this API returned');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)?$/;

/** A timestamp as Postgres writes it (or ISO), with every field in range: anything else would be a database error. */
function isTimestamp(text: string): boolean {
  const m = TIMESTAMP.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((x) => Number.parseInt(x!, 10)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return (
    year >= 1 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= new Date(Date.UTC(year, month, 0)).getUTCDate() &&
    hour < 24 &&
    minute < 60 &&
    second < 60
  );
}

type KeyType = 'text' | 'timestamptz';

/** A cursor someone made up is a 400, never a database error. */
function checked(position: Position, keyType: KeyType, idType: 'uuid' | 'text'): Position {
  const [key, id] = position;
  const keyOk = keyType === 'text' || isTimestamp(key);
  const idOk = idType === 'text' ? id.length <= 300 : UUID.test(id);
  if (!keyOk || !idOk || key.length > 500) throw new ApiError(400, 'bad_cursor', 'The cursor is not one this API returned');
  return position;
}

/**
 * The rows after the cursor's position, for a query ordered by `(key, id)` ascending. `keyType`
 * casts the cursor's text back (e.g. `timestamptz`, which keeps Postgres' microseconds).
 */
export function after(
  key: SQLWrapper,
  id: SQLWrapper,
  position: Position,
  keyType: KeyType = 'text',
  idType: 'uuid' | 'text' = 'uuid',
): SQL {
  const [k, i] = checked(position, keyType, idType);
  return sql`(${key}, ${id}) > (${k}::${sql.raw(keyType)}, ${i}::${sql.raw(idType)})`;
}

/** The rows after the cursor's position for a query ordered by `(key, id)` descending. */
export function before(
  key: SQLWrapper,
  id: SQLWrapper,
  position: Position,
  keyType: KeyType = 'text',
  idType: 'uuid' | 'text' = 'uuid',
): SQL {
  const [k, i] = checked(position, keyType, idType);
  return sql`(${key}, ${id}) < (${k}::${sql.raw(keyType)}, ${i}::${sql.raw(idType)})`;
}

/** One page of rows fetched with `limit + 1`: the extra row only says there is a next page. */
export function pageOf<T>(rows: readonly T[], limit: number, position: (row: T) => Position): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > limit && last ? Buffer.from(JSON.stringify(position(last))).toString('base64url') : null,
  };
}

/** A `LIKE` pattern matching `text` anywhere, with the wildcards in it taken literally. */
export function containing(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
