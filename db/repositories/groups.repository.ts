// Directory groups: written by the drain (one upsert per batch), read by the drain's
// snapshot and the reconciler. `id` is the application's uuid, never changed once
// given; `directory_group_id` is WorkOS's and the upsert's key. `grants_role` is the
// application's: never written here.
import type { Executor } from '../database.ts';
import type { Group } from '../tables/groups.table.ts';
import { type Column, col, updateAll, upsertUnnest } from '../unnest-upsert.ts';

/** A group as the drain reads and writes it (the timestamps are the database's). */
export type GroupState = Omit<Group, 'created_at' | 'updated_at'>;

const withoutTimestamps = ({ created_at: _c, updated_at: _u, ...row }: Group): GroupState => row;

/** Groups by WorkOS id, and every group of the given directories. */
export async function findGroups(
  db: Executor,
  where: { directoryGroupIds: readonly string[]; directoryIds: readonly string[] },
): Promise<GroupState[]> {
  const { directoryGroupIds, directoryIds } = where;
  if (directoryGroupIds.length === 0 && directoryIds.length === 0) return [];
  const rows = await db
    .selectFrom('groups')
    .selectAll()
    .where((eb) =>
      eb.or([
        ...(directoryGroupIds.length > 0
          ? [eb('directory_group_id', 'in', directoryGroupIds)]
          : []),
        ...(directoryIds.length > 0 ? [eb('directory_id', 'in', directoryIds)] : []),
      ]),
    )
    .execute();
  return rows.map(withoutTimestamps);
}

/** Groups by the application's uuid. */
export async function findGroupsById(db: Executor, ids: readonly string[]): Promise<GroupState[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('groups').selectAll().where('id', 'in', ids).execute();
  return rows.map(withoutTimestamps);
}

export async function groupsOfOrganization(db: Executor, organizationId: string): Promise<Group[]> {
  return (
    db
      .selectFrom('groups')
      .selectAll()
      .where('organization_id', '=', organizationId)
      // WorkOS-synced only: the reconciler compares with WorkOS, which has no SCIM directory.
      .where('directory_id', 'not in', db.selectFrom('scim_directories').select('id'))
      .execute()
  );
}

const columns: Column<GroupState>[] = [
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

/** Inserts or overwrites groups by WorkOS id; an existing group keeps its uuid and grants_role. */
export async function upsertGroups(db: Executor, rows: readonly GroupState[]): Promise<void> {
  await upsertUnnest(
    db,
    'groups',
    columns,
    rows,
    updateAll('directory_group_id', columns, ['id', 'directory_group_id'], 'updated_at = now()'),
  );
}
