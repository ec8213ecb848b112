// Application sessions. The application creates them; dirsync only revokes them, in
// the transaction that deprovisions their user.
import { sql } from 'kysely';
import type { Executor } from '../database.ts';

/**
 * Revokes every live session of these users, each with its reason
 * (`reasons[i]` for `userIds[i]`), in one statement. Returns the sessions revoked.
 */
export async function revokeSessionsOfUsers(
  db: Executor,
  userIds: readonly string[],
  reasons: readonly string[],
): Promise<Array<{ id: string; user_id: string }>> {
  if (userIds.length === 0) return [];
  const { rows } = await sql<{ id: string; user_id: string }>`
    update sessions s
    set revoked_at = now(), revoked_reason = r.reason
    from unnest(${userIds}::uuid[], ${reasons}::text[]) as r(user_id, reason)
    where s.user_id = r.user_id and s.revoked_at is null
    returning s.id, s.user_id
  `.execute(db);
  return rows;
}
