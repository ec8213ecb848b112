import type { ColumnType, Generated, JSONColumnType, Selectable } from 'kysely';

/** A directory an identity provider pushes to over SCIM 2.0; one organization's. */
export interface ScimDirectoriesTable {
  id: string;
  organization_id: string;
  name: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  deleted_at: Date | null;
}

/** A bearer token of a SCIM directory, as its sha256 only. */
export interface ScimTokensTable {
  id: Generated<string>;
  directory_id: string;
  token_hash: Buffer;
  created_at: ColumnType<Date, Date | undefined, never>;
  expires_at: Date | null;
}

/** A SCIM User as the identity provider stored it (no id, meta or password inside). */
export interface ScimUsersTable {
  directory_id: string;
  id: string;
  user_name: string;
  external_id: string | null;
  active: boolean;
  attributes: JSONColumnType<Record<string, unknown>>;
  created_at: Date;
  last_modified: Date;
}

/** A SCIM Group without its members (scim_group_members). */
export interface ScimGroupsTable {
  directory_id: string;
  id: string;
  display_name: string;
  external_id: string | null;
  attributes: JSONColumnType<Record<string, unknown>>;
  created_at: Date;
  last_modified: Date;
}

export interface ScimGroupMembersTable {
  directory_id: string;
  group_id: string;
  user_id: string;
}

export type ScimDirectory = Selectable<ScimDirectoriesTable>;
export type ScimUserRow = Selectable<ScimUsersTable>;
export type ScimGroupRow = Selectable<ScimGroupsTable>;
