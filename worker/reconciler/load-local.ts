// Reading what dirsync believes about an organization: its directories, users,
// groups and active memberships, keyed by WorkOS ids like the upstream state.
import type { Executor } from '../../db/database.ts';
import type { Directory } from '../../db/tables/directories.table.ts';
import type { Group } from '../../db/tables/groups.table.ts';
import type { User } from '../../db/tables/users.table.ts';
import { membershipKey } from './fetch-upstream.ts';

export type LocalDirectory = Pick<
  Directory,
  | 'id'
  | 'organization_id'
  | 'state'
  | 'type'
  | 'name'
  | 'source_updated_at'
  | 'source_event_at'
  | 'deleted_at'
  | 'created_at'
>;
export type LocalUser = Pick<
  User,
  | 'id'
  | 'directory_user_id'
  | 'organization_id'
  | 'directory_id'
  | 'idp_id'
  | 'email'
  | 'first_name'
  | 'last_name'
  | 'state'
  | 'role'
  | 'roles'
  | 'custom_attributes'
  | 'source_updated_at'
  | 'source_event_at'
  | 'deleted_at'
  | 'created_at'
>;
export type LocalGroup = Pick<
  Group,
  | 'id'
  | 'directory_group_id'
  | 'organization_id'
  | 'directory_id'
  | 'idp_id'
  | 'name'
  | 'source_updated_at'
  | 'source_event_at'
  | 'deleted_at'
  | 'created_at'
>;

export interface LocalState {
  directories: Map<string, LocalDirectory>;
  /** By directory_user_id. */
  users: Map<string, LocalUser>;
  /** By directory_group_id. */
  groups: Map<string, LocalGroup>;
  /**
   * membershipKey(directory_group_id, directory_user_id) of active memberships → the
   * time of the event that last wrote each (its source_event_at).
   */
  memberships: Map<string, Date>;
}

/** The active memberships of an organization, by membershipKey(group, user) of WorkOS ids. */
async function activeMembershipTimes(
  db: Executor,
  organizationId: string,
): Promise<Map<string, Date>> {
  const rows = await db
    .selectFrom('group_memberships as m')
    .innerJoin('groups as g', 'g.id', 'm.group_id')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['g.directory_group_id', 'u.directory_user_id', 'm.source_event_at'])
    .where('m.organization_id', '=', organizationId)
    .where('m.removed_at', 'is', null)
    .execute();
  return new Map(
    rows.map((m) => [membershipKey(m.directory_group_id, m.directory_user_id), m.source_event_at]),
  );
}

export async function loadLocal(db: Executor, organizationId: string): Promise<LocalState> {
  const [directories, users, groups, memberships] = await Promise.all([
    db
      .selectFrom('directories')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .execute(),
    db.selectFrom('users').selectAll().where('organization_id', '=', organizationId).execute(),
    db.selectFrom('groups').selectAll().where('organization_id', '=', organizationId).execute(),
    activeMembershipTimes(db, organizationId),
  ]);
  return {
    directories: new Map(directories.map((d) => [d.id, d])),
    users: new Map(users.map((u) => [u.directory_user_id, u])),
    groups: new Map(groups.map((g) => [g.directory_group_id, g])),
    memberships,
  };
}
