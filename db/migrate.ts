import path from 'node:path';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { connectDatabase } from './client';

/** Folder of drizzle-kit's SQL migrations, found from the project root in source and in dist/. */
export const MIGRATIONS_FOLDER = path.resolve(
  __dirname,
  __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../db/migrations' : 'migrations',
);

/** Applies pending migrations; safe to run concurrently from several processes (drizzle locks). */
export async function runMigrations(url: string): Promise<void> {
  const database = connectDatabase(url, { max: 1 });
  try {
    await migrate(database.db, { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await database.close();
  }
}

if (require.main === module) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('DATABASE_URL is not set\n');
    process.exit(2);
  }
  runMigrations(url).then(
    () => process.stdout.write('migrations applied\n'),
    (err: unknown) => {
      process.stderr.write(`migration failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
