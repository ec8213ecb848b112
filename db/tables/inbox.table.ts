import type { ColumnType, Insertable, Selectable, Updateable } from 'kysely';

export type InboxSource = 'webhook' | 'events_api' | 'reconcile' | 'replay';
export type InboxStatus = 'pending' | 'applied' | 'ignored' | 'dead';

/**
 * The durable, ordered log of every event received. Ordered per organization by
 * (occurred_at, event_id); `payload` is the wire JSON exactly as it arrived.
 */
export interface InboxTable {
  event_id: string;
  organization_id: string | null;
  event_type: string;
  occurred_at: Date;
  source: InboxSource;
  payload: ColumnType<unknown, string, string>;
  status: InboxStatus;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: string | null;
  received_at: ColumnType<Date, Date | undefined, never>;
  applied_at: Date | null;
}

export type InboxRow = Selectable<InboxTable>;
export type NewInboxRow = Insertable<InboxTable>;
export type InboxUpdate = Updateable<InboxTable>;
