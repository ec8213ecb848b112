import type { ColumnType, Insertable, Selectable, Updateable } from 'kysely';

/** An application session. Valid only while revoked_at is null; dirsync sets it. */
export interface SessionsTable {
  id: ColumnType<string, string | undefined, never>;
  user_id: string;
  created_at: ColumnType<Date, Date | undefined, never>;
  expires_at: Date | null;
  revoked_at: Date | null;
  revoked_reason: string | null;
}

export type Session = Selectable<SessionsTable>;
export type NewSession = Insertable<SessionsTable>;
export type SessionUpdate = Updateable<SessionsTable>;
