import type { ColumnType, Insertable, Selectable, Updateable } from 'kysely';

export type DeprovisionPolicy = 'soft' | 'hard';

/** One WorkOS organization: a customer of the application. */
export interface OrganizationsTable {
  id: string;
  deprovision_policy: ColumnType<DeprovisionPolicy, DeprovisionPolicy | undefined>;
  paused_at: Date | null;
  last_applied_event_id: string | null;
  last_applied_at: Date | null;
  last_reconciled_at: Date | null;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export type Organization = Selectable<OrganizationsTable>;
export type NewOrganization = Insertable<OrganizationsTable>;
export type OrganizationUpdate = Updateable<OrganizationsTable>;
