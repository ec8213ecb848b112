// Writes a snapshot's changed rows back: one unnest() upsert per table and chunk
// (db/unnest-upsert.ts), parents before children (directories, users and groups
// before memberships). Columns the application owns (the uuids of existing users and
// groups, groups.grants_role) are never overwritten.
import type { Transaction } from '../../db/database.ts';
import { upsertDirectories } from '../../db/repositories/directories.repository.ts';
import { upsertGroups } from '../../db/repositories/groups.repository.ts';
import { upsertMemberships } from '../../db/repositories/memberships.repository.ts';
import { upsertUsers } from '../../db/repositories/users.repository.ts';
import type { Snapshot } from '../apply/snapshot.ts';

function dirtyRows<R>(map: Map<string, R>, keys: Set<string>): R[] {
  return [...keys].map((key) => map.get(key)!);
}

export async function saveSnapshot(trx: Transaction, snapshot: Snapshot): Promise<void> {
  const { dirty } = snapshot;
  await upsertDirectories(trx, dirtyRows(snapshot.directories, dirty.directories));
  await upsertUsers(trx, dirtyRows(snapshot.users, dirty.users));
  await upsertGroups(trx, dirtyRows(snapshot.groups, dirty.groups));
  await upsertMemberships(trx, dirtyRows(snapshot.memberships, dirty.memberships));
}
