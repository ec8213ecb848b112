// Revoking sessions: one UPDATE for every user a batch deprovisioned, inside the
// batch's transaction. Their messages go to the revocation outbox in the same
// transaction (drain-organization.ts); the worker's relay sends them to Redis.
import type { Transaction } from '../../db/database.ts';
import { revokeSessionsOfUsers } from '../../db/repositories/sessions.repository.ts';
import type { Revocation } from '../apply/effects.ts';

export interface RevokedSessions extends Revocation {
  sessionIds: string[];
}

export async function revokeSessions(
  trx: Transaction,
  revocations: readonly Revocation[],
): Promise<RevokedSessions[]> {
  if (revocations.length === 0) return [];
  const rows = await revokeSessionsOfUsers(
    trx,
    revocations.map((r) => r.userId),
    revocations.map((r) => r.reason),
  );
  const byUser = new Map<string, string[]>();
  for (const row of rows) {
    const ids = byUser.get(row.user_id) ?? [];
    ids.push(row.id);
    byUser.set(row.user_id, ids);
  }
  return revocations
    .map((r) => ({ ...r, sessionIds: byUser.get(r.userId) ?? [] }))
    .filter((r) => r.sessionIds.length > 0);
}
