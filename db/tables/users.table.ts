import type { ColumnType, Insertable, JSONColumnType, Selectable, Updateable } from 'kysely';

/**
 * A directory user as the application sees it. `id` is the application's own uuid;
 * `directory_user_id` is WorkOS's. The source_* columns order writes (last writer wins).
 */
export interface UsersTable {
  id: string;
  directory_user_id: string;
  organization_id: string;
  directory_id: string;
  idp_id: string | null;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  state: string;
  role: string | null;
  roles: ColumnType<string[], string[] | undefined, string[]>;
  custom_attributes: JSONColumnType<Record<string, unknown>>;
  /** The latest deletion of the user: memberships whose last event is older are removed. */
  memberships_ended_at: Date | null;
  memberships_ended_by: string | null;
  source_updated_at: Date;
  source_event_at: Date;
  source_event_id: string;
  deleted_at: Date | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
