// The drain's log of what it took away, once the batch committed: one info line per
// deprovisioned user and one per batch that revoked sessions. Ids, reasons and
// counts only, never personal data (the application's user uuid, not an email).
import type { Logger } from '../../common/logger.ts';
import type { Revocation } from '../apply/effects.ts';
import type { RevokedSessions } from './revoke-sessions.ts';

/** A directory deletion deprovisions a whole directory: past this, one summary line. */
const MOST_LINES = 1_000;

export function logDeprovisionings(
  log: Logger,
  organizationId: string,
  deprovisioned: readonly Revocation[],
  revoked: readonly RevokedSessions[],
): void {
  const sessions = new Map(revoked.map((r) => [r.userId, r.sessionIds.length]));
  for (const d of deprovisioned.slice(0, MOST_LINES)) {
    log.info(
      {
        orgId: organizationId,
        userId: d.userId,
        eventId: d.eventId,
        reason: d.reason,
        sessionsRevoked: sessions.get(d.userId) ?? 0,
      },
      'user deprovisioned',
    );
  }
  if (deprovisioned.length > MOST_LINES) {
    log.info(
      { orgId: organizationId, users: deprovisioned.length - MOST_LINES },
      'more users deprovisioned in this batch (not listed one by one)',
    );
  }
  if (revoked.length > 0) {
    log.info(
      {
        orgId: organizationId,
        users: revoked.length,
        sessions: revoked.reduce((n, r) => n + r.sessionIds.length, 0),
        eventIds: [...new Set(revoked.map((r) => r.eventId))].slice(0, 20),
      },
      'sessions revoked',
    );
  }
}
