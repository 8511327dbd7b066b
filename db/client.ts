import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres, { type Sql } from 'postgres';
import * as schema from './schema';

export type Db = PostgresJsDatabase<typeof schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface Database {
  db: Db;
  close(): Promise<void>;
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
}

export interface PoolOptions {
  max?: number;
  /**
   * Planner setting `enable_memoize` on every connection of the pool. The API turns it off: its
   * list pages run as prepared statements with generic plans, and for a user who acted on tens of
   * thousands of tasks the generic plan puts Memoize nodes sized for all of them into a page of 50
   * (2 ms per page instead of 0.55 ms; bench/README.md, list routes).
   */
  memoize?: boolean;
}

/** One pool per process. */
export function connectDatabase(url: string, opts: PoolOptions = {}): Database {
  const client = postgres(url, {
    max: opts.max ?? 10,
    onnotice: () => {},
    ...(opts.memoize === false ? { connection: { enable_memoize: 'off' } } : {}),
  });
  const db = drizzle(client, { schema });
  return {
    db,
    close: () => client.end({ timeout: 5 }),
    ping: async () => {
      await client`select 1`;
    },
  };
}

/**
 * The postgres.js client under a database from {@link connectDatabase}, for the statements that
 * run as prepared postgres.js queries rather than through drizzle (`purpose` names them in the error).
 */
export function postgresClientOf(db: Db, purpose: string): Sql {
  const client = (db as Db & { $client?: Sql }).$client;
  if (!client) throw new Error(`${purpose}: needs a database from connectDatabase (drizzle over postgres.js)`);
  return client;
}
