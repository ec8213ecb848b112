// Writes a snapshot's changed rows back: one upsert per table and chunk, its rows
// passed as one array per column and expanded by unnest(), so that a statement of a
// thousand rows has a few dozen parameters, not tens of thousands (cheaper to build
// here and to parse and plan in Postgres). Parents before children (users and groups
// before memberships). Columns the application owns (groups.grants_role) are never
// overwritten.
import { sql } from 'kysely';
import type { Transaction } from '../../db/database.ts';
import type { Snapshot } from '../apply/snapshot.ts';

const CHUNK = 1000;

function* chunks<T>(items: readonly T[], size = CHUNK): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** A column of an unnest() upsert: its name, its Postgres type, how a row gives it. */
interface Column<R> {
  name: string;
  type: string;
  value: (row: R) => unknown;
  /** What the column is selected as, from the unnested value `t.<name>`. */
  select?: string;
}

const col = <R>(
  name: string,
  type: string,
  value: (row: R) => unknown,
  select?: string,
): Column<R> => ({ name, type, value, ...(select ? { select } : {}) });

/**
 * `insert into <table> (cols) select … from unnest($1::t1[], …) … on conflict`,
 * for `rows` in chunks. `conflict` is the SQL after `on conflict`.
 */
export async function upsertUnnest<R>(
  trx: Transaction,
  table: string,
  columns: readonly Column<R>[],
  rows: readonly R[],
  conflict: string,
): Promise<void> {
  const names = columns.map((c) => c.name).join(', ');
  const selected = columns.map((c) => c.select ?? `t.${c.name}`).join(', ');
  for (const chunk of chunks(rows)) {
    const arrays = columns.map((c) => sql`${chunk.map(c.value)}::${sql.raw(c.type)}[]`);
    await sql`
      insert into ${sql.table(table)} (${sql.raw(names)})
      select ${sql.raw(selected)}
      from unnest(${sql.join(arrays)}) as t(${sql.raw(names)})
      on conflict ${sql.raw(conflict)}
    `.execute(trx);
  }
}

/** `do update set c = excluded.c, …` for these columns, plus any extra assignments. */
function updateAll(target: string, columns: readonly string[], extra = ''): string {
  const set = columns.map((c) => `${c} = excluded.${c}`).join(', ');
  return `(${target}) do update set ${set}${extra ? `, ${extra}` : ''}`;
}

type DirectoryRow = Snapshot['directories'] extends Map<string, infer R> ? R : never;
type UserRow = Snapshot['users'] extends Map<string, infer R> ? R : never;
type GroupRow = Snapshot['groups'] extends Map<string, infer R> ? R : never;
type MembershipRow = Snapshot['memberships'] extends Map<string, infer R> ? R : never;

const directoryColumns: Column<DirectoryRow>[] = [
  col('id', 'text', (d) => d.id),
  col('organization_id', 'text', (d) => d.organization_id),
  col('state', 'text', (d) => d.state),
  col('type', 'text', (d) => d.type),
  col('name', 'text', (d) => d.name),
  col('source_updated_at', 'timestamptz', (d) => d.source_updated_at),
  col('source_event_at', 'timestamptz', (d) => d.source_event_at),
  col('source_event_id', 'text', (d) => d.source_event_id),
  col('deleted_at', 'timestamptz', (d) => d.deleted_at),
];

const userColumns: Column<UserRow>[] = [
  col('id', 'uuid', (u) => u.id),
  col('directory_user_id', 'text', (u) => u.directory_user_id),
  col('organization_id', 'text', (u) => u.organization_id),
  col('directory_id', 'text', (u) => u.directory_id),
  col('idp_id', 'text', (u) => u.idp_id),
  col('email', 'text', (u) => u.email),
  col('first_name', 'text', (u) => u.first_name),
  col('last_name', 'text', (u) => u.last_name),
  col('state', 'text', (u) => u.state),
  col('role', 'text', (u) => u.role),
  // An array of arrays cannot go through unnest(), which flattens it: JSON instead.
  col(
    'roles',
    'jsonb',
    (u) => JSON.stringify(u.roles),
    `array(select r from jsonb_array_elements_text(t.roles) with ordinality as e(r, n) order by n)`,
  ),
  col('custom_attributes', 'jsonb', (u) => JSON.stringify(u.custom_attributes)),
  col('memberships_ended_at', 'timestamptz', (u) => u.memberships_ended_at),
  col('memberships_ended_by', 'text', (u) => u.memberships_ended_by),
  col('source_updated_at', 'timestamptz', (u) => u.source_updated_at),
  col('source_event_at', 'timestamptz', (u) => u.source_event_at),
  col('source_event_id', 'text', (u) => u.source_event_id),
  col('deleted_at', 'timestamptz', (u) => u.deleted_at),
];

const groupColumns: Column<GroupRow>[] = [
  col('id', 'uuid', (g) => g.id),
  col('directory_group_id', 'text', (g) => g.directory_group_id),
  col('organization_id', 'text', (g) => g.organization_id),
  col('directory_id', 'text', (g) => g.directory_id),
  col('idp_id', 'text', (g) => g.idp_id),
  col('name', 'text', (g) => g.name),
  col('memberships_ended_at', 'timestamptz', (g) => g.memberships_ended_at),
  col('memberships_ended_by', 'text', (g) => g.memberships_ended_by),
  col('source_updated_at', 'timestamptz', (g) => g.source_updated_at),
  col('source_event_at', 'timestamptz', (g) => g.source_event_at),
  col('source_event_id', 'text', (g) => g.source_event_id),
  col('deleted_at', 'timestamptz', (g) => g.deleted_at),
];

const membershipColumns: Column<MembershipRow>[] = [
  col('group_id', 'uuid', (m) => m.group_id),
  col('user_id', 'uuid', (m) => m.user_id),
  col('organization_id', 'text', (m) => m.organization_id),
  col('source_event_at', 'timestamptz', (m) => m.source_event_at),
  col('source_event_id', 'text', (m) => m.source_event_id),
  col('removed_at', 'timestamptz', (m) => m.removed_at),
];

/** Audit rows as the batch writes them (`detail` already JSON). */
export interface AuditRow {
  event_id: string;
  organization_id: string;
  action: string;
  subject_type: string;
  subject_id: string;
  detail: string;
}

export const auditColumns: Column<AuditRow>[] = [
  col('event_id', 'text', (a) => a.event_id),
  col('organization_id', 'text', (a) => a.organization_id),
  col('action', 'text', (a) => a.action),
  col('subject_type', 'text', (a) => a.subject_type),
  col('subject_id', 'text', (a) => a.subject_id),
  col('detail', 'jsonb', (a) => a.detail),
];

const except = (columns: readonly Column<never>[], ...skip: string[]) =>
  columns.map((c) => c.name).filter((n) => !skip.includes(n));

function dirtyRows<R>(map: Map<string, R>, keys: Set<string>): R[] {
  return [...keys].map((key) => map.get(key)!);
}

export async function saveSnapshot(trx: Transaction, snapshot: Snapshot): Promise<void> {
  const { dirty } = snapshot;
  await upsertUnnest(
    trx,
    'directories',
    directoryColumns,
    dirtyRows(snapshot.directories, dirty.directories),
    updateAll('id', except(directoryColumns as Column<never>[], 'id')),
  );
  // The uuid (`id`) of an existing user or group is the application's: never changed.
  await upsertUnnest(
    trx,
    'users',
    userColumns,
    dirtyRows(snapshot.users, dirty.users),
    updateAll(
      'directory_user_id',
      except(userColumns as Column<never>[], 'id', 'directory_user_id'),
      'updated_at = now()',
    ),
  );
  await upsertUnnest(
    trx,
    'groups',
    groupColumns,
    dirtyRows(snapshot.groups, dirty.groups),
    updateAll(
      'directory_group_id',
      except(groupColumns as Column<never>[], 'id', 'directory_group_id'),
      'updated_at = now()',
    ),
  );
  await upsertUnnest(
    trx,
    'group_memberships',
    membershipColumns,
    dirtyRows(snapshot.memberships, dirty.memberships),
    updateAll('group_id, user_id', ['source_event_at', 'source_event_id', 'removed_at']),
  );
}
