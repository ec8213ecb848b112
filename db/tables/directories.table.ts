import type { ColumnType, Insertable, Selectable, Updateable } from 'kysely';

/** A directory (an identity provider connection) of an organization. */
export interface DirectoriesTable {
  id: string;
  organization_id: string;
  state: string;
  type: string | null;
  name: string | null;
  source_updated_at: Date;
  source_event_at: Date;
  source_event_id: string;
  deleted_at: Date | null;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export type Directory = Selectable<DirectoriesTable>;
export type NewDirectory = Insertable<DirectoriesTable>;
export type DirectoryUpdate = Updateable<DirectoriesTable>;
