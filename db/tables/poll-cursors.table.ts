import type { ColumnType, Selectable } from 'kysely';

/** Where the Events API poller stopped: the `after` cursor of its last stored page. */
export interface PollCursorsTable {
  name: string;
  cursor: string | null;
  newest_event_at: Date | null;
  polled_at: ColumnType<Date, Date | undefined, Date>;
}

export type PollCursor = Selectable<PollCursorsTable>;
