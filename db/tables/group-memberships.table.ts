import type { Insertable, Selectable, Updateable } from 'kysely';

/** A (group, user) pair; active while removed_at is null. The latest event wins. */
export interface GroupMembershipsTable {
  group_id: string;
  user_id: string;
  organization_id: string;
  source_event_at: Date;
  source_event_id: string;
  removed_at: Date | null;
}

export type GroupMembership = Selectable<GroupMembershipsTable>;
export type NewGroupMembership = Insertable<GroupMembershipsTable>;
export type GroupMembershipUpdate = Updateable<GroupMembershipsTable>;
