// Group memberships: a (group uuid, user uuid) pair, active while removed_at is null.
// Written by the drain (one upsert per batch), read by the drain's snapshot and the
// reconciler.
import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { GroupMembership } from '../tables/group-memberships.table.ts';
import { type Column, col, updateAll, upsertUnnest } from '../unnest-upsert.ts';

/**
 * Every membership of these groups, of these users, and of these (group, user)
 * pairs (`pairs.groupIds[i]` with `pairs.userIds[i]`); all by uuid.
 */
export async function findMemberships(
  db: Executor,
  where: {
    groupIds: readonly string[];
    userIds: readonly string[];
    pairs: { groupIds: readonly string[]; userIds: readonly string[] };
  },
): Promise<GroupMembership[]> {
  const { groupIds, userIds, pairs } = where;
  if (groupIds.length === 0 && userIds.length === 0 && pairs.groupIds.length === 0) return [];
  const { rows } = await sql<GroupMembership>`
    select m.* from group_memberships m
    where m.group_id = any(${groupIds}::uuid[])
       or m.user_id = any(${userIds}::uuid[])
       or (m.group_id, m.user_id) in (select * from unnest(${pairs.groupIds}::uuid[], ${pairs.userIds}::uuid[]))
  `.execute(db);
  return rows;
}

export interface ActiveMembership {
  directory_group_id: string;
  directory_user_id: string;
  /** The time of the event that last wrote it. */
  source_event_at: Date;
}

/** The active memberships of an organization, by WorkOS ids. */
export async function activeMembershipsOfOrganization(
  db: Executor,
  organizationId: string,
): Promise<ActiveMembership[]> {
  return (
    db
      .selectFrom('group_memberships as m')
      .innerJoin('groups as g', 'g.id', 'm.group_id')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['g.directory_group_id', 'u.directory_user_id', 'm.source_event_at'])
      .where('m.organization_id', '=', organizationId)
      .where('m.removed_at', 'is', null)
      // WorkOS-synced only: the reconciler compares with WorkOS, which has no SCIM directory.
      .where('g.directory_id', 'not in', db.selectFrom('scim_directories').select('id'))
      .execute()
  );
}

const columns: Column<GroupMembership>[] = [
  col('group_id', 'uuid', (m) => m.group_id),
  col('user_id', 'uuid', (m) => m.user_id),
  col('organization_id', 'text', (m) => m.organization_id),
  col('source_event_at', 'timestamptz', (m) => m.source_event_at),
  col('source_event_id', 'text', (m) => m.source_event_id),
  col('removed_at', 'timestamptz', (m) => m.removed_at),
];

/** Inserts memberships, or moves existing ones to their latest event. */
export async function upsertMemberships(
  db: Executor,
  rows: readonly GroupMembership[],
): Promise<void> {
  await upsertUnnest(
    db,
    'group_memberships',
    columns,
    rows,
    updateAll('group_id, user_id', columns, ['group_id', 'user_id', 'organization_id']),
  );
}
