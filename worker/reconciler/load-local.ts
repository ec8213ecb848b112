// Reading what dirsync believes about an organization: its directories, users,
// groups and active memberships, keyed by WorkOS ids like the upstream state.
import type { Executor } from '../../db/database.ts';
import { directoriesOfOrganization } from '../../db/repositories/directories.repository.ts';
import { groupsOfOrganization } from '../../db/repositories/groups.repository.ts';
import { activeMembershipsOfOrganization } from '../../db/repositories/memberships.repository.ts';
import { usersOfOrganization } from '../../db/repositories/users.repository.ts';
import type { Directory } from '../../db/tables/directories.table.ts';
import type { Group } from '../../db/tables/groups.table.ts';
import type { User } from '../../db/tables/users.table.ts';
import { membershipKey } from '../membership-key.ts';

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
  const rows = await activeMembershipsOfOrganization(db, organizationId);
  return new Map(
    rows.map((m) => [membershipKey(m.directory_group_id, m.directory_user_id), m.source_event_at]),
  );
}

export async function loadLocal(db: Executor, organizationId: string): Promise<LocalState> {
  const [directories, users, groups, memberships] = await Promise.all([
    directoriesOfOrganization(db, organizationId),
    usersOfOrganization(db, organizationId),
    groupsOfOrganization(db, organizationId),
    activeMembershipTimes(db, organizationId),
  ]);
  return {
    directories: new Map(directories.map((d) => [d.id, d])),
    users: new Map(users.map((u) => [u.directory_user_id, u])),
    groups: new Map(groups.map((g) => [g.directory_group_id, g])),
    memberships,
  };
}
