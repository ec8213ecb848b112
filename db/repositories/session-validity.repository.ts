// The application's question, "is this session still valid?", asked of the sessions
// table through the application's own Kysely handle (dirsync/client). A session is
// valid while dirsync has not revoked it and it has not expired.
import { type Kysely, sql } from 'kysely';
import type { SessionsTable } from '../tables/sessions.table.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface SessionCheckOptions {
  /** Schema of dirsync's tables (DATABASE_SCHEMA); null: the connection's search_path. */
  schema?: string | null;
}

/** `db`: any Kysely whose database has dirsync's sessions table (beside the application's). */
export async function isSessionActive<DB extends { sessions: SessionsTable }>(
  db: Kysely<DB>,
  sessionId: string,
  options: SessionCheckOptions = {},
): Promise<boolean> {
  // Not a session id at all (a forged or mangled cookie): invalid, and no query,
  // which Postgres would refuse with an error rather than answer.
  if (typeof sessionId !== 'string' || !UUID.test(sessionId)) return false;
  const schema = options.schema === undefined ? 'dirsync' : options.schema;
  const base = db as unknown as Kysely<{ sessions: SessionsTable }>;
  const scoped = schema === null ? base : base.withSchema(schema);
  const row = await scoped
    .selectFrom('sessions')
    .select('id')
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .executeTakeFirst();
  return row !== undefined;
}
