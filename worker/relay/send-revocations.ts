// The Redis side of the relay: each message is appended to the capped stream
// (catch-up) and published on the channel of the same name (live listeners), in id
// order, in one MULTI so a batch is sent whole or, when the connection fails, not at
// all as far as the relay knows (it then sends the batch again: at least once).
import type { Redis } from '../../common/redis.ts';
import { type RevocationMessage, STREAM_FIELD } from '../../common/revocation-message.ts';
import type { OutboxRow } from '../../db/tables/revocation-outbox.table.ts';

export function toMessage(row: OutboxRow): RevocationMessage {
  return {
    v: 1,
    id: String(row.id),
    userId: row.user_id,
    organizationId: row.organization_id,
    sessionIds: row.session_ids,
    reason: row.reason,
    eventId: row.event_id,
    revokedAt: row.revoked_at.toISOString(),
  };
}

/** Sends the rows; returns their stream entry ids. Throws when any command failed. */
export async function sendRevocations(
  redis: Redis,
  key: string,
  maxLength: number,
  rows: readonly OutboxRow[],
): Promise<string[]> {
  const multi = redis.multi();
  for (const row of rows) {
    const json = JSON.stringify(toMessage(row));
    multi.xadd(key, 'MAXLEN', '~', maxLength, '*', STREAM_FIELD, json);
    multi.publish(key, json);
  }
  const results = await multi.exec();
  if (!results) throw new Error('redis transaction discarded');
  const ids: string[] = [];
  for (const [i, [err, value]] of results.entries()) {
    if (err) throw err;
    if (i % 2 === 0) ids.push(String(value));
  }
  return ids;
}
