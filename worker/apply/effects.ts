// What applying events produces besides row changes: audit entries and the users
// whose sessions must be revoked, each naming the event that caused it.
import type { AuditAction, AuditLogTable } from '../../db/tables/audit-log.table.ts';

export type RevocationReason =
  | 'user_deleted'
  | 'user_inactive'
  | 'directory_deleted'
  | 'group_removed';

export interface AuditDraft {
  event_id: string;
  action: AuditAction;
  subject_type: AuditLogTable['subject_type'];
  subject_id: string;
  detail: Record<string, unknown>;
}

export interface Revocation {
  /** The application's user uuid. */
  userId: string;
  eventId: string;
  reason: RevocationReason;
}

export class Effects {
  readonly audit: AuditDraft[] = [];
  /** By user uuid; the last event to deprovision a user names the revocation. */
  readonly revocations = new Map<string, Revocation>();

  record(draft: AuditDraft): void {
    this.audit.push(draft);
  }

  revoke(revocation: Revocation): void {
    this.revocations.set(revocation.userId, revocation);
  }
}
