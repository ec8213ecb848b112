// Brings a database to the newest schema: creates the database when it does not
// exist yet, then the schema, then runs the pending migrations under Kysely's lock.
import { type Kysely, type MigrationResultSet, Migrator, NO_MIGRATIONS, sql } from 'kysely';
import pg from 'pg';
import type { Config } from '../common/config.ts';
import { migrations } from './migrations/index.ts';

// Creating the database needs a session on the server itself: DATABASE_DIRECT_URL.
type DbConfig = Pick<Config, 'DATABASE_DIRECT_URL'>;

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Creates the database named in DATABASE_DIRECT_URL if it is missing (connecting to `postgres`). */
export async function ensureDatabase(config: DbConfig): Promise<boolean> {
  const target = new URL(config.DATABASE_DIRECT_URL);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) return false;
  const probe = new pg.Client({ connectionString: config.DATABASE_DIRECT_URL });
  try {
    await probe.connect();
    return false;
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err; // 3D000: invalid_catalog_name
  } finally {
    await probe.end().catch(() => {});
  }
  const admin = new URL(config.DATABASE_DIRECT_URL);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`create database ${pg.escapeIdentifier(name)}`);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P04') throw err; // created meanwhile
  } finally {
    await client.end();
  }
  return true;
}

// biome-ignore lint/suspicious/noExplicitAny: migrations run on any database handle
type AnyDb = Kysely<any>;

function migrator(db: AnyDb, schema: string): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableSchema: schema,
  });
}

function check(result: MigrationResultSet): MigrationResultSet {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    throw new MigrationError(
      `migration ${failed?.migrationName ?? '(unknown)'} failed: ${String(result.error)}`,
      { cause: result.error },
    );
  }
  return result;
}

/**
 * `create schema if not exists` is not safe against itself: two processes migrating
 * a new database at once (`start:api` and `start:worker` on first boot) can both miss
 * the schema and one fails on the catalog's unique index. The loser finds it there.
 */
async function ensureSchema(db: AnyDb, schema: string): Promise<void> {
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== '23505' && code !== '42P06') throw err; // unique_violation, duplicate_schema
  }
}

export async function migrateToLatest(db: AnyDb, schema: string): Promise<MigrationResultSet> {
  await ensureSchema(db, schema);
  return check(await migrator(db, schema).migrateToLatest());
}

/** Runs every `down` back to an empty schema (tests and operators undoing an install). */
export async function migrateDownAll(db: AnyDb, schema: string): Promise<MigrationResultSet> {
  return check(await migrator(db, schema).migrateTo(NO_MIGRATIONS));
}
