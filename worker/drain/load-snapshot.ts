// Loads the rows a batch of events touches, in a handful of queries: directories,
// users and groups by WorkOS id, the memberships of the pairs involved, all
// memberships of groups being deleted, and everything of a directory being deleted.
import { sql } from 'kysely';
import type { DirectoryEvent } from '../../common/events.ts';
import type { Transaction } from '../../db/database.ts';
import type { DeprovisionPolicy } from '../../db/tables/organizations.table.ts';
import { emptySnapshot, type MembershipRecord, type Snapshot } from '../apply/snapshot.ts';
import { membershipKey } from '../membership-key.ts';

interface Wanted {
  directories: Set<string>;
  users: Set<string>;
  groups: Set<string>;
  deletedGroups: Set<string>;
  deletedUsers: Set<string>;
  deletedDirectories: Set<string>;
  pairs: Array<[groupId: string, userId: string]>;
}

function wanted(events: readonly DirectoryEvent[]): Wanted {
  const w: Wanted = {
    directories: new Set(),
    users: new Set(),
    groups: new Set(),
    deletedGroups: new Set(),
    deletedUsers: new Set(),
    deletedDirectories: new Set(),
    pairs: [],
  };
  for (const event of events) {
    switch (event.event) {
      case 'dsync.activated':
      case 'dsync.deleted':
        w.directories.add(event.data.id);
        if (event.event === 'dsync.deleted') w.deletedDirectories.add(event.data.id);
        break;
      case 'dsync.user.created':
      case 'dsync.user.updated':
      case 'dsync.user.deleted':
        w.users.add(event.data.id);
        w.directories.add(event.data.directory_id);
        if (event.event === 'dsync.user.deleted') w.deletedUsers.add(event.data.id);
        break;
      case 'dsync.group.created':
      case 'dsync.group.updated':
      case 'dsync.group.deleted':
        w.groups.add(event.data.id);
        w.directories.add(event.data.directory_id);
        if (event.event === 'dsync.group.deleted') w.deletedGroups.add(event.data.id);
        break;
      case 'dsync.group.user_added':
      case 'dsync.group.user_removed':
        w.users.add(event.data.user.id);
        w.groups.add(event.data.group.id);
        w.directories.add(event.data.user.directory_id).add(event.data.group.directory_id);
        w.pairs.push([event.data.group.id, event.data.user.id]);
        break;
    }
  }
  return w;
}

export async function loadSnapshot(
  trx: Transaction,
  organizationId: string,
  policy: DeprovisionPolicy,
  events: readonly DirectoryEvent[],
): Promise<Snapshot> {
  const snapshot = emptySnapshot(organizationId, policy);
  const w = wanted(events);
  const deletedDirs = [...w.deletedDirectories];

  if (w.directories.size > 0) {
    const rows = await trx
      .selectFrom('directories')
      .select([
        'id',
        'organization_id',
        'state',
        'type',
        'name',
        'source_updated_at',
        'source_event_at',
        'source_event_id',
        'deleted_at',
      ])
      .where('id', 'in', [...w.directories])
      .execute();
    for (const row of rows) snapshot.directories.set(row.id, row);
  }

  if (w.users.size > 0 || deletedDirs.length > 0) {
    const rows = await trx
      .selectFrom('users')
      .selectAll()
      .where((eb) =>
        eb.or([
          ...(w.users.size > 0 ? [eb('directory_user_id', 'in', [...w.users])] : []),
          ...(deletedDirs.length > 0 ? [eb('directory_id', 'in', deletedDirs)] : []),
        ]),
      )
      .execute();
    for (const { created_at: _c, updated_at: _u, ...row } of rows)
      snapshot.users.set(row.directory_user_id, row);
  }

  if (w.groups.size > 0 || deletedDirs.length > 0) {
    const rows = await trx
      .selectFrom('groups')
      .selectAll()
      .where((eb) =>
        eb.or([
          ...(w.groups.size > 0 ? [eb('directory_group_id', 'in', [...w.groups])] : []),
          ...(deletedDirs.length > 0 ? [eb('directory_id', 'in', deletedDirs)] : []),
        ]),
      )
      .execute();
    for (const { created_at: _c, updated_at: _u, ...row } of rows)
      snapshot.groups.set(row.directory_group_id, row);
  }

  // Every membership of a group being deleted (or in a directory being deleted).
  const wholeGroups = [...snapshot.groups.values()]
    .filter(
      (g) => w.deletedGroups.has(g.directory_group_id) || w.deletedDirectories.has(g.directory_id),
    )
    .map((g) => g.id);
  const pairGroups: string[] = [];
  const pairUsers: string[] = [];
  for (const [groupKey, userKey] of w.pairs) {
    const group = snapshot.groups.get(groupKey);
    const user = snapshot.users.get(userKey);
    if (group && user) {
      pairGroups.push(group.id);
      pairUsers.push(user.id);
    }
  }
  // Every membership of a user being deleted.
  const wholeUsers = [...w.deletedUsers].flatMap((key) => {
    const user = snapshot.users.get(key);
    return user ? [user.id] : [];
  });
  if (wholeGroups.length > 0 || wholeUsers.length > 0 || pairGroups.length > 0) {
    const rows = await sql<MembershipRecord>`
      select m.* from group_memberships m
      where m.group_id = any(${wholeGroups}::uuid[])
         or m.user_id = any(${wholeUsers}::uuid[])
         or (m.group_id, m.user_id) in (select * from unnest(${pairGroups}::uuid[], ${pairUsers}::uuid[]))
    `.execute(trx);
    for (const row of rows.rows)
      snapshot.memberships.set(membershipKey(row.group_id, row.user_id), row);
  }
  // Groups of those memberships, for their grants_role (a removal may revoke sessions).
  const loadedGroups = new Set([...snapshot.groups.values()].map((g) => g.id));
  const missingGroups = new Set(
    [...snapshot.memberships.values()].map((m) => m.group_id).filter((id) => !loadedGroups.has(id)),
  );
  if (missingGroups.size > 0) {
    const rows = await trx
      .selectFrom('groups')
      .selectAll()
      .where('id', 'in', [...missingGroups])
      .execute();
    for (const { created_at: _c, updated_at: _u, ...row } of rows)
      snapshot.groups.set(row.directory_group_id, row);
  }
  return snapshot;
}
