import type { ColumnType, Insertable, Selectable, Updateable } from 'kysely';

export type InboxSource = 'webhook' | 'events_api' | 'reconcile' | 'replay' | 'scim';
export type InboxStatus = 'pending' | 'applied' | 'ignored' | 'dead';

/**
 * The durable, ordered log of every event received. Ordered per organization by
 * (occurred_at, event_id); `payload` is the wire JSON as it arrived, but for what
 * had to be replaced to store it (listed in `alterations`).
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
  /**
   * What was changed for the event to be stored or applied (fail closed): strings
   * Postgres cannot hold, nesting too deep, invalid fields of a deprovisioning.
   */
  alterations: ColumnType<unknown[] | null, string | null | undefined, string | null>;
  received_at: ColumnType<Date, Date | undefined, never>;
  applied_at: Date | null;
}

export type InboxRow = Selectable<InboxTable>;
export type NewInboxRow = Insertable<InboxTable>;
export type InboxUpdate = Updateable<InboxTable>;
