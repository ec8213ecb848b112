// One relay pass: the outbox's unsent messages sent to Redis (stream and channel,
// send-revocations.ts) oldest id first, then marked sent, in one Postgres
// transaction under the relay lock, so one relay sends at a time and the order is
// the outbox's commit order (see revocation-outbox.repository.ts).
//
// At least once: a message is marked sent only after Redis took it. A crash after
// the revoking commit leaves the row unsent; a crash (or a lost answer) after Redis
// took it but before the mark commits sends it again, with the same id. While Redis
// is down the pass fails, nothing is marked, and the relay retries with backoff.
//
// Throughput: a pass sends batch after batch in its transaction (one MULTI to
// Redis each), and marks one batch sent in the statement that reads the next, so a
// batch costs two round trips, one to Postgres and one to Redis; the transaction's
// begin, lock and commit are paid once per pass, not per batch.
import { toError, withTimeout } from '../../common/errors.ts';
import type { Resources } from '../../common/resources.ts';
import { sessionsRevokedKey } from '../../common/revocation-message.ts';
import {
  markRevocationsSent,
  markSentAndReadNext,
  tryLockRelay,
  unsentRevocations,
} from '../../db/repositories/revocation-outbox.repository.ts';
import type { OutboxRow } from '../../db/tables/revocation-outbox.table.ts';
import { sendRevocations } from './send-revocations.ts';

/** Messages a batch (one MULTI to Redis, one Postgres statement). */
const BATCH_SIZE = 1_000;
/** A pass ends after this many batches, so its transaction stays short. */
const BATCHES_PER_PASS = 10;
/** A send that takes longer is abandoned (and retried): the pass holds a transaction. */
const SEND_TIMEOUT_MS = 5_000;

export type RelayResources = Pick<Resources, 'db' | 'redis' | 'config' | 'metrics' | 'logger'>;

export class PublishError extends Error {
  override name = 'PublishError';
}

export type Send = (rows: readonly OutboxRow[]) => Promise<unknown>;

export type RelayPass = { kind: 'busy' } | { kind: 'sent'; count: number; more: boolean };

export interface RelayOptions {
  batchSize?: number;
  batchesPerPass?: number;
  /** Replaces the Redis send (tests: a send that fails after Redis took the batch). */
  send?: Send;
}

function sender(resources: RelayResources, options: RelayOptions): Send {
  if (options.send) return options.send;
  const { config, redis } = resources;
  const key = sessionsRevokedKey(config.REDIS_PREFIX);
  return (rows) => sendRevocations(redis, key, config.REVOCATION_STREAM_MAXLEN, rows);
}

/**
 * One pass: unsent messages sent and marked sent, up to a few batches, or nothing
 * when another relay holds the lock. A send that fails after earlier batches of the
 * pass went through commits their marks, then throws (a PublishError).
 */
export async function relayOnce(
  resources: RelayResources,
  options: RelayOptions = {},
): Promise<RelayPass> {
  const limit = options.batchSize ?? BATCH_SIZE;
  const maxBatches = options.batchesPerPass ?? BATCHES_PER_PASS;
  const send = sender(resources, options);
  let failure: PublishError | undefined;
  const pass = await resources.db.transaction().execute(async (trx) => {
    if (!(await tryLockRelay(trx))) return { kind: 'busy' as const };
    const sent: OutboxRow[] = [];
    let rows = await unsentRevocations(trx, limit);
    for (let batch = 1; rows.length > 0; batch += 1) {
      try {
        await withTimeout(send(rows), SEND_TIMEOUT_MS, 'sending revocations to redis');
      } catch (err) {
        failure = new PublishError('could not send revocations to redis', { cause: toError(err) });
        if (sent.length === 0) throw failure;
        break; // commit what Redis took before
      }
      sent.push(...rows);
      const ids = rows.map((r) => r.id);
      if (rows.length < limit || batch === maxBatches) {
        await markRevocationsSent(trx, ids);
        return { kind: 'sent' as const, sent, more: rows.length === limit };
      }
      rows = await markSentAndReadNext(trx, ids, limit);
    }
    return { kind: 'sent' as const, sent, more: false };
  });
  if (pass.kind === 'busy') return pass;
  observe(resources, pass.sent);
  if (failure) throw failure;
  return { kind: 'sent', count: pass.sent.length, more: pass.more };
}

function observe({ metrics }: RelayResources, rows: readonly OutboxRow[]) {
  const now = Date.now();
  for (const row of rows) {
    if (row.event_received_at)
      metrics.revocationDeliveryLatency.observe((now - row.event_received_at.getTime()) / 1000);
  }
  metrics.revocationsRelayed.inc(rows.length);
}
