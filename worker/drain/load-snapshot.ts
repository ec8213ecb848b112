// Loads the rows a batch of events touches, in a handful of queries: directories,
// users and groups by WorkOS id, the memberships of the pairs involved, all
// memberships of groups being deleted, and everything of a directory being deleted.
import type { DirectoryEvent } from '../../common/events.ts';
import type { Transaction } from '../../db/database.ts';
import { findDirectories } from '../../db/repositories/directories.repository.ts';
import { findGroups, findGroupsById } from '../../db/repositories/groups.repository.ts';
import { findMemberships } from '../../db/repositories/memberships.repository.ts';
import { findUsers } from '../../db/repositories/users.repository.ts';
import type { DeprovisionPolicy } from '../../db/tables/organizations.table.ts';
import { emptySnapshot, type Snapshot } from '../apply/snapshot.ts';
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
  const directoryIds = [...w.deletedDirectories];

  for (const row of await findDirectories(trx, [...w.directories]))
    snapshot.directories.set(row.id, row);
  for (const row of await findUsers(trx, { directoryUserIds: [...w.users], directoryIds }))
    snapshot.users.set(row.directory_user_id, row);
  for (const row of await findGroups(trx, { directoryGroupIds: [...w.groups], directoryIds }))
    snapshot.groups.set(row.directory_group_id, row);
  await loadMemberships(trx, snapshot, w);
  return snapshot;
}

/**
 * The memberships the batch may change: every membership of a group or user being
 * deleted (or in a directory being deleted), and those of the pairs its events name;
 * then the groups of those memberships not loaded yet, for their grants_role (a
 * removal may revoke sessions).
 */
async function loadMemberships(trx: Transaction, snapshot: Snapshot, w: Wanted): Promise<void> {
  const groupIds = [...snapshot.groups.values()]
    .filter(
      (g) => w.deletedGroups.has(g.directory_group_id) || w.deletedDirectories.has(g.directory_id),
    )
    .map((g) => g.id);
  const userIds = [...w.deletedUsers].flatMap((key) => {
    const user = snapshot.users.get(key);
    return user ? [user.id] : [];
  });
  const pairs = { groupIds: [] as string[], userIds: [] as string[] };
  for (const [groupKey, userKey] of w.pairs) {
    const group = snapshot.groups.get(groupKey);
    const user = snapshot.users.get(userKey);
    if (group && user) {
      pairs.groupIds.push(group.id);
      pairs.userIds.push(user.id);
    }
  }
  for (const row of await findMemberships(trx, { groupIds, userIds, pairs }))
    snapshot.memberships.set(membershipKey(row.group_id, row.user_id), row);

  const loadedGroups = new Set([...snapshot.groups.values()].map((g) => g.id));
  const missingGroups = new Set(
    [...snapshot.memberships.values()].map((m) => m.group_id).filter((id) => !loadedGroups.has(id)),
  );
  for (const row of await findGroupsById(trx, [...missingGroups]))
    snapshot.groups.set(row.directory_group_id, row);
}
