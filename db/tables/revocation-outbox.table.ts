import type { ColumnType, Insertable, Selectable } from 'kysely';

/**
 * A revocation message waiting to be sent (sent_at null) or sent. Written in the
 * transaction that revokes the sessions; the relay sends it at least once.
 */
export interface RevocationOutboxTable {
  id: ColumnType<number, never, never>;
  organization_id: string;
  user_id: string;
  session_ids: string[];
  reason: string;
  event_id: string | null;
  event_received_at: Date | null;
  revoked_at: ColumnType<Date, Date | undefined, never>;
  sent_at: ColumnType<Date | null, never, Date>;
}

export type OutboxRow = Selectable<RevocationOutboxTable>;
export type NewOutboxRow = Insertable<RevocationOutboxTable>;
