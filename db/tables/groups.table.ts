import type { ColumnType, Insertable, Selectable, Updateable } from 'kysely';

/** A directory group. `grants_role`, set by the application, makes removal a deprovisioning. */
export interface GroupsTable {
  id: string;
  directory_group_id: string;
  organization_id: string;
  directory_id: string;
  idp_id: string | null;
  name: string | null;
  grants_role: string | null;
  /** The latest group deletion: memberships whose last event is older are removed. */
  memberships_ended_at: Date | null;
  memberships_ended_by: string | null;
  source_updated_at: Date;
  source_event_at: Date;
  source_event_id: string;
  deleted_at: Date | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type Group = Selectable<GroupsTable>;
export type NewGroup = Insertable<GroupsTable>;
export type GroupUpdate = Updateable<GroupsTable>;
