import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createDatabase } from '../db/database.ts';
import { ensureDatabase, migrateDownAll, migrateToLatest } from '../db/migrate.ts';
import { migrations } from '../db/migrations/index.ts';
import { useTestContext } from './support/context.ts';

const ctx = useTestContext('migrations');

async function tables(schema: string): Promise<string[]> {
  const result = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = ${schema} order by table_name
  `.execute(ctx.db);
  return result.rows.map((r) => r.table_name);
}

async function columns(schema: string, table: string): Promise<string[]> {
  const result = await sql<{ column_name: string }>`
    select column_name from information_schema.columns
    where table_schema = ${schema} and table_name = ${table}
  `.execute(ctx.db);
  return result.rows.map((r) => r.column_name);
}

async function uniqueIndexes(schema: string): Promise<string[]> {
  const result = await sql<{ def: string }>`
    select indexdef as def from pg_indexes
    where schemaname = ${schema} and indexdef like 'CREATE UNIQUE INDEX%'
  `.execute(ctx.db);
  return result.rows.map((r) => r.def.replace(/^.* USING \w+ /, ''));
}

// The table contract (docs/ARCHITECTURE.md): the application reads these columns.
const contract: Record<string, string[]> = {
  organizations: ['id', 'deprovision_policy', 'paused_at'],
  directories: [
    'id',
    'organization_id',
    'state',
    'type',
    'name',
    'source_updated_at',
    'deleted_at',
  ],
  users: [
    'id',
    'directory_user_id',
    'organization_id',
    'directory_id',
    'email',
    'first_name',
    'last_name',
    'state',
    'role',
    'custom_attributes',
    'source_updated_at',
    'deleted_at',
  ],
  groups: [
    'id',
    'directory_group_id',
    'organization_id',
    'directory_id',
    'name',
    'source_updated_at',
    'deleted_at',
  ],
  group_memberships: ['group_id', 'user_id', 'source_event_at', 'removed_at'],
  sessions: ['id', 'user_id', 'created_at', 'expires_at', 'revoked_at', 'revoked_reason'],
  audit_log: [
    'id',
    'event_id',
    'organization_id',
    'action',
    'subject_type',
    'subject_id',
    'detail',
    'at',
  ],
  inbox: [
    'event_id',
    'organization_id',
    'event_type',
    'occurred_at',
    'source',
    'payload',
    'status',
    'attempts',
    'last_error',
    'received_at',
    'applied_at',
  ],
};

describe('db migrations', () => {
  it('give every table of the contract its columns and the unique keys the hot paths rely on', async () => {
    const schema = ctx.config.DATABASE_SCHEMA;
    for (const [table, wanted] of Object.entries(contract))
      expect(await columns(schema, table), table).toEqual(expect.arrayContaining(wanted));
    expect(await uniqueIndexes(schema)).toEqual(
      expect.arrayContaining([
        '(event_id)',
        '(directory_user_id)',
        '(directory_group_id)',
        '(group_id, user_id)',
      ]),
    );
    const pending = await sql<{ def: string }>`
      select indexdef as def from pg_indexes where schemaname = ${schema} and tablename = 'inbox'
    `.execute(ctx.db);
    expect(pending.rows.map((r) => r.def).join('\n')).toMatch(
      /\(organization_id, occurred_at, event_id\) WHERE \(status = 'pending'/,
    );
  });

  it('run from two processes at once on a new schema: both succeed, each migration once', async () => {
    const schema = `${ctx.config.DATABASE_SCHEMA}_race`;
    const dbs = [0, 1].map(() =>
      ctx.track('database', createDatabase({ ...ctx.config, DATABASE_SCHEMA: schema }), 'destroy'),
    );
    try {
      const results = await Promise.all(dbs.map((db) => migrateToLatest(db, schema)));
      const applied = results.flatMap((r) => r.results ?? []).filter((r) => r.status === 'Success');
      expect(applied.map((r) => r.migrationName).sort()).toEqual(Object.keys(migrations).sort());
      expect(await tables(schema)).toContain('inbox');
    } finally {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(dbs[0]!);
      await Promise.all(dbs.map((db) => db.destroy()));
    }
  });

  it('create the database when it does not exist yet', async () => {
    const name = `dirsync_created_${ctx.config.DATABASE_SCHEMA}`.slice(0, 60);
    const url = new URL(ctx.config.DATABASE_DIRECT_URL);
    url.pathname = `/${name}`;
    const config = { DATABASE_DIRECT_URL: url.toString() };
    try {
      expect(await ensureDatabase(config)).toBe(true);
      expect(await ensureDatabase(config)).toBe(false);
      const found = await sql<{ n: number }>`
        select count(*)::int as n from pg_database where datname = ${name}
      `.execute(ctx.db);
      expect(found.rows[0]!.n).toBe(1);
    } finally {
      await sql`drop database if exists ${sql.id(name)}`.execute(ctx.db);
    }
  });

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
      'revocation_outbox',
      'scim_directories',
      'scim_group_members',
      'scim_groups',
      'scim_tokens',
      'scim_users',
      'sessions',
      'task_leases',
      'users',
    ]);
  });

  it('go down to nothing and up again cleanly', async () => {
    const schema = `${ctx.config.DATABASE_SCHEMA}_updown`;
    const db = ctx.track(
      'database',
      createDatabase({ ...ctx.config, DATABASE_SCHEMA: schema }),
      'destroy',
    );
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
