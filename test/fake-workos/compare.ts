// The directory state of one organization, as the fake WorkOS holds it and as
// dirsync's tables hold it, in one comparable shape: live users and groups and the
// active memberships. Equal shapes mean dirsync is in step with upstream.
import type { Database } from '../../db/database.ts';
import { membershipKey } from '../../worker/membership-key.ts';
import { loadLocal } from '../../worker/reconciler/load-local.ts';
import type { FakeWorkOSStore } from './store.ts';

export interface DirectoryShape {
  users: Record<
    string,
    { state: string; email: string | null; lastName: string | null; role: string | null }
  >;
  groups: Record<string, string | null>;
  /** membershipKey(group id, user id), sorted. */
  memberships: string[];
}

const sorted = <T>(entries: Array<[string, T]>): Record<string, T> =>
  Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : 1)));

export function upstreamShape(store: FakeWorkOSStore, organizationId: string): DirectoryShape {
  const users = [...store.users.values()].filter((u) => u.organization_id === organizationId);
  const groups = [...store.groups.values()].filter((g) => g.organization_id === organizationId);
  const memberships: string[] = [];
  for (const g of groups)
    for (const u of store.members.get(g.id) ?? []) memberships.push(membershipKey(g.id, u));
  return {
    users: sorted(
      users.map((u) => [
        u.id,
        { state: u.state, email: u.email, lastName: u.last_name, role: u.role.slug },
      ]),
    ),
    groups: sorted(groups.map((g) => [g.id, g.name])),
    memberships: memberships.sort(),
  };
}

export async function databaseShape(db: Database, organizationId: string): Promise<DirectoryShape> {
  const [users, groups, memberships] = await Promise.all([
    db
      .selectFrom('users')
      .select(['directory_user_id', 'state', 'email', 'last_name', 'role'])
      .where('organization_id', '=', organizationId)
      .where('deleted_at', 'is', null)
      .execute(),
    db
      .selectFrom('groups')
      .select(['directory_group_id', 'name'])
      .where('organization_id', '=', organizationId)
      .where('deleted_at', 'is', null)
      .execute(),
    // The reconciler's own view of the active memberships (membershipKey → time).
    loadLocal(db, organizationId).then((local) => local.memberships.keys()),
  ]);
  return {
    users: sorted(
      users.map((u) => [
        u.directory_user_id,
        { state: u.state, email: u.email, lastName: u.last_name, role: u.role },
      ]),
    ),
    groups: sorted(groups.map((g) => [g.directory_group_id, g.name])),
    memberships: [...memberships].sort(),
  };
}

/** Whether an organization (or every organization) has no pending inbox rows. */
export async function drained(db: Database, organizationId?: string): Promise<boolean> {
  let query = db.selectFrom('inbox').select('event_id').where('status', '=', 'pending');
  if (organizationId) query = query.where('organization_id', '=', organizationId);
  return (await query.limit(1).execute()).length === 0;
}
