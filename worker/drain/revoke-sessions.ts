// Revoking sessions: one UPDATE for every user a batch deprovisioned, inside the
// batch's transaction; after commit, one message per user on the Redis channel so
// running application instances drop cached sessions.
import { SESSIONS_REVOKED_CHANNEL, type SessionsRevokedMessage } from '../../common/queues.ts';
import type { Redis } from '../../common/redis.ts';
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

export async function publishRevocations(
  redis: Redis,
  organizationId: string,
  revoked: readonly RevokedSessions[],
): Promise<void> {
  if (revoked.length === 0) return;
  const pipeline = redis.pipeline();
  for (const r of revoked) {
    const message: SessionsRevokedMessage = {
      userId: r.userId,
      organizationId,
      sessionIds: r.sessionIds,
      reason: r.reason,
    };
    pipeline.publish(SESSIONS_REVOKED_CHANNEL, JSON.stringify(message));
  }
  await pipeline.exec();
}
