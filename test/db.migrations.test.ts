import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createDatabase } from '../db/database.ts';
import { migrateDownAll, migrateToLatest } from '../db/migrate.ts';
import { migrations } from '../db/migrations/index.ts';
import { useTestContext } from './support/context.ts';

const ctx = useTestContext('migrations');

async function tables(schema: string): Promise<string[]> {
  const result = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = ${schema} order by table_name
  `.execute(ctx.db);
  return result.rows.map((r) => r.table_name);
}

describe('db migrations', () => {
  it('create every table of the contract in the configured schema', async () => {
    expect(await tables(ctx.config.DATABASE_SCHEMA)).toEqual([
      'audit_log',
      'directories',
      'group_memberships',
      'groups',
      'inbox',
      'kysely_migration',
      'kysely_migration_lock',
      'organizations',
      'poll_cursors',
      'sessions',
      'users',
    ]);
  });

  it('go down to nothing and up again cleanly', async () => {
    const schema = `${ctx.config.DATABASE_SCHEMA}_updown`;
    const db = createDatabase({ ...ctx.config, DATABASE_SCHEMA: schema });
    try {
      const up = await migrateToLatest(db, schema);
      expect(up.results?.map((r) => r.status)).toEqual(
        Object.keys(migrations).map(() => 'Success'),
      );
      expect((await migrateToLatest(db, schema)).results).toEqual([]);
      await migrateDownAll(db, schema);
      expect(await tables(schema)).toEqual(['kysely_migration', 'kysely_migration_lock']);
      await migrateToLatest(db, schema);
      expect(await tables(schema)).toContain('inbox');
    } finally {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
      await db.destroy();
    }
  });
});
