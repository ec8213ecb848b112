import type { ColumnType, Generated, Insertable, JSONColumnType, Selectable } from 'kysely';

export type AuditAction =
  | 'directory_activated'
  | 'directory_updated'
  | 'directory_deleted'
  | 'user_provisioned'
  | 'user_updated'
  | 'user_deprovisioned'
  | 'user_reactivated'
  | 'sessions_revoked'
  | 'group_created'
  | 'group_updated'
  | 'group_deleted'
  | 'membership_added'
  | 'membership_removed'
  | OperatorAuditAction;

/** What operators do (db/repositories/audit.repository.ts); detail names the actor. */
export type OperatorAuditAction =
  | 'organization_paused'
  | 'organization_resumed'
  | 'event_replayed'
  | 'dead_events_replayed'
  | 'resync_queued'
  | 'resync_run'
  | 'scim_directory_created'
  | 'scim_token_rotated'
  | 'scim_directory_deleted';

/** One row per applied change: which event, which subject, what changed. Append-only. */
export interface AuditLogTable {
  id: Generated<string>;
  event_id: string;
  organization_id: string;
  action: AuditAction;
  subject_type: 'directory' | 'user' | 'group' | 'membership' | 'organization' | 'event' | 'token';
  subject_id: string;
  detail: JSONColumnType<Record<string, unknown>>;
  /** Who made the change: `scim:<directoryId>` for SCIM writes; null for WorkOS sync. */
  actor: ColumnType<string | null, string | null | undefined, never>;
  at: ColumnType<Date, Date | undefined, never>;
}

export type AuditEntry = Selectable<AuditLogTable>;
export type NewAuditEntry = Insertable<AuditLogTable>;
