// SCIM Groups as the identity provider stored them, and their members, one row per
// (group, user): adding or removing members touches only those rows, never the
// whole list, however large the group.
import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { DB, Executor, Transaction } from '../database.ts';
import type { ScimGroupRow } from '../tables/scim.table.ts';
import type { ScimCondition } from './scim-users.repository.ts';

type GroupEb = ExpressionBuilder<DB, 'scim_groups'>;

function groupCondition(eb: GroupEb, c: ScimCondition): Expression<SqlBool> {
  switch (c.kind) {
    case 'and':
      return eb.and(c.of.map((x) => groupCondition(eb, x)));
    case 'or':
      return eb.or(c.of.map((x) => groupCondition(eb, x)));
    case 'not':
      return eb.not(groupCondition(eb, c.of));
    case 'attr': {
      if (c.op === 'pr') {
        const column =
          c.attr === 'externalId' ? 'external_id' : c.attr === 'id' ? 'id' : 'display_name';
        return eb(column, 'is not', null);
      }
      if (c.attr === 'displayName') {
        if (c.op === 'eq') return sql<SqlBool>`lower(display_name) = lower(${c.value})`;
        if (c.op === 'ne') return sql<SqlBool>`lower(display_name) <> lower(${c.value})`;
        const escaped = c.value.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`);
        const pattern =
          c.op === 'co' ? `%${escaped}%` : c.op === 'sw' ? `${escaped}%` : `%${escaped}`;
        return sql<SqlBool>`lower(display_name) like ${pattern}`;
      }
      const column = c.attr === 'externalId' ? 'external_id' : 'id';
      if (c.op === 'eq') return eb(column, '=', c.value);
      if (c.op === 'ne') return eb(column, 'is distinct from', c.value);
      return sql<SqlBool>`false`;
    }
    default:
      // Filters the API accepts only for Users (emails, active) match no group.
      return sql<SqlBool>`false`;
  }
}

export async function findScimGroup(
  db: Executor,
  directoryId: string,
  id: string,
): Promise<ScimGroupRow | undefined> {
  return db
    .selectFrom('scim_groups')
    .selectAll()
    .where('directory_id', '=', directoryId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function lockScimGroup(
  trx: Transaction,
  directoryId: string,
  id: string,
): Promise<ScimGroupRow | undefined> {
  return trx
    .selectFrom('scim_groups')
    .selectAll()
    .where('directory_id', '=', directoryId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

export async function listScimGroups(
  db: Executor,
  directoryId: string,
  options: { filter?: ScimCondition; offset: number; limit: number },
): Promise<{ total: number; rows: ScimGroupRow[] }> {
  const base = db
    .selectFrom('scim_groups')
    .where('directory_id', '=', directoryId)
    .$if(options.filter !== undefined, (qb) =>
      qb.where((eb) => groupCondition(eb, options.filter!)),
    );
  const [count, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    options.limit === 0
      ? Promise.resolve([])
      : base.selectAll().orderBy('id').offset(options.offset).limit(options.limit).execute(),
  ]);
  return { total: Number(count.n), rows };
}

export async function insertScimGroup(db: Executor, row: ScimGroupRow): Promise<void> {
  await db
    .insertInto('scim_groups')
    .values({ ...row, attributes: JSON.stringify(row.attributes) })
    .execute();
}

export async function updateScimGroup(db: Executor, row: ScimGroupRow): Promise<void> {
  await db
    .updateTable('scim_groups')
    .set({
      display_name: row.display_name,
      external_id: row.external_id,
      attributes: JSON.stringify(row.attributes),
      last_modified: row.last_modified,
    })
    .where('directory_id', '=', row.directory_id)
    .where('id', '=', row.id)
    .execute();
}

export async function deleteScimGroup(
  db: Executor,
  directoryId: string,
  id: string,
): Promise<void> {
  await db
    .deleteFrom('scim_groups')
    .where('directory_id', '=', directoryId)
    .where('id', '=', id)
    .execute();
}

export interface MemberRef {
  groupId: string;
  userId: string;
  userName: string;
  displayName: string | null;
}

/** Members of these groups (for GET), with the user's name for `display`. */
export async function membersOfGroups(
  db: Executor,
  directoryId: string,
  groupIds: readonly string[],
): Promise<MemberRef[]> {
  if (groupIds.length === 0) return [];
  const rows = await db
    .selectFrom('scim_group_members as m')
    .innerJoin('scim_users as u', (join) =>
      join.onRef('u.directory_id', '=', 'm.directory_id').onRef('u.id', '=', 'm.user_id'),
    )
    .select([
      'm.group_id',
      'm.user_id',
      'u.user_name',
      sql<string | null>`u.attributes ->> 'displayName'`.as('display_name'),
    ])
    .where('m.directory_id', '=', directoryId)
    .where('m.group_id', 'in', [...groupIds])
    .orderBy('m.user_id')
    .execute();
  return rows.map((r) => ({
    groupId: r.group_id,
    userId: r.user_id,
    userName: r.user_name,
    displayName: r.display_name,
  }));
}

/** Adds members; returns the user ids that were not members before. */
export async function addScimMembers(
  db: Executor,
  directoryId: string,
  groupId: string,
  userIds: readonly string[],
): Promise<string[]> {
  if (userIds.length === 0) return [];
  const rows = await db
    .insertInto('scim_group_members')
    .values(
      userIds.map((userId) => ({ directory_id: directoryId, group_id: groupId, user_id: userId })),
    )
    .onConflict((oc) => oc.doNothing())
    .returning('user_id')
    .execute();
  return rows.map((r) => r.user_id);
}

/** Removes members; returns the user ids that were members. */
export async function removeScimMembers(
  db: Executor,
  directoryId: string,
  groupId: string,
  userIds: readonly string[],
): Promise<string[]> {
  if (userIds.length === 0) return [];
  const rows = await db
    .deleteFrom('scim_group_members')
    .where('directory_id', '=', directoryId)
    .where('group_id', '=', groupId)
    .where('user_id', 'in', [...userIds])
    .returning('user_id')
    .execute();
  return rows.map((r) => r.user_id);
}

/**
 * Makes `userIds` the whole member list: removes the members not in it (only
 * those rows are read, as they are deleted) and adds the new ones. Returns both.
 */
export async function replaceScimMembers(
  db: Executor,
  directoryId: string,
  groupId: string,
  userIds: readonly string[],
): Promise<{ added: string[]; removed: string[] }> {
  const removed = await db
    .deleteFrom('scim_group_members')
    .where('directory_id', '=', directoryId)
    .where('group_id', '=', groupId)
    .$if(userIds.length > 0, (qb) => qb.where('user_id', 'not in', [...userIds]))
    .returning('user_id')
    .execute();
  const added = await addScimMembers(db, directoryId, groupId, userIds);
  return { added, removed: removed.map((r) => r.user_id) };
}
