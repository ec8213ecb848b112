// The session-revocation message: what dirsync sends to running application
// instances when it revokes a user's sessions, on Redis pub/sub (live listeners) and
// in a capped Redis Stream of the same name (catch-up). Shared by the worker's relay
// and the application client (`dirsync/client`), so the two cannot drift.

/** Channel and stream name: `<REDIS_PREFIX>:sessions:revoked`. */
export function sessionsRevokedKey(prefix: string): string {
  return `${prefix}:sessions:revoked`;
}

/** The stream entry's one field, holding the message's JSON. */
export const STREAM_FIELD = 'm';

/**
 * Version 1. Delivered at least once: a redelivery carries the same `id`, and
 * applying a message twice must change nothing (drop the sessions by id).
 */
export interface RevocationMessage {
  /** Schema version; a breaking change gets a new number. */
  v: 1;
  /** The outbox id (decimal), increasing in commit order; the same on a redelivery. */
  id: string;
  userId: string;
  organizationId: string;
  /** Every session the revocation ended (a user with none gets no message). */
  sessionIds: string[];
  /** Why: user_deleted, user_inactive, group_removed, directory_deleted (more may come). */
  reason: string;
  /** The directory event that caused it, when there was one. */
  eventId: string | null;
  /** The revoking transaction's time (ISO 8601). */
  revokedAt: string;
}

/** Parses a message, or throws for anything that is not a version-1 message. */
export function parseRevocationMessage(json: string): RevocationMessage {
  const m = JSON.parse(json) as Partial<RevocationMessage> | null;
  if (
    m?.v !== 1 ||
    typeof m.id !== 'string' ||
    typeof m.userId !== 'string' ||
    !Array.isArray(m.sessionIds) ||
    !m.sessionIds.every((s) => typeof s === 'string')
  ) {
    throw new Error('not a version-1 session revocation message');
  }
  return m as RevocationMessage;
}
