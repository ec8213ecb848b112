// The revocation relay: sends the outbox's unsent messages to Redis (stream and
// channel, send-revocations.ts) oldest id first, then marks them sent, in one
// Postgres transaction under the relay lock, so one relay sends at a time and the
// order is the outbox's commit order (see revocation-outbox.repository.ts).
//
// At least once: a message is marked sent only after Redis took it. A crash after
// the revoking commit leaves the row unsent; a crash (or a lost answer) after Redis
// took it but before the mark commits sends it again, with the same id. While Redis
// is down the pass fails, nothing is marked, and the relay retries with backoff.
//
// Woken at once by nudge() (the drain calls it after a revoking commit in this
// process), else every REVOCATION_RELAY_POLL_MS for rows written elsewhere.
import { toError, withTimeout } from '../../common/errors.ts';
import type { Resources } from '../../common/resources.ts';
import { sessionsRevokedKey } from '../../common/revocation-message.ts';
import {
  markRevocationsSent,
  pruneSentRevocations,
  tryLockRelay,
  unsentRevocations,
} from '../../db/repositories/revocation-outbox.repository.ts';
import type { OutboxRow } from '../../db/tables/revocation-outbox.table.ts';
import { sendRevocations } from './send-revocations.ts';

/** Messages per pass (one MULTI to Redis, one UPDATE). */
const BATCH_SIZE = 500;
/** A send that takes longer is abandoned (and retried): the pass holds a transaction. */
const SEND_TIMEOUT_MS = 5_000;
/** Another process's relay holds the lock: try again this soon when we were nudged. */
const BUSY_RETRY_MS = 20;
/** Backoff while Redis (or Postgres) fails: doubling from 50 ms up to this. */
const MAX_BACKOFF_MS = 2_000;
const PRUNE_EVERY_MS = 10 * 60_000;

type RelayResources = Pick<Resources, 'db' | 'redis' | 'config' | 'metrics' | 'logger'>;

export class PublishError extends Error {
  override name = 'PublishError';
}

export type Send = (rows: readonly OutboxRow[]) => Promise<unknown>;

export type RelayPass = { kind: 'busy' } | { kind: 'sent'; count: number; more: boolean };

export interface RelayOptions {
  batchSize?: number;
  /** Replaces the Redis send (tests: a send that fails after Redis took the batch). */
  send?: Send;
}

/** One pass: up to a batch of unsent messages sent and marked sent, or nothing. */
export async function relayOnce(
  resources: RelayResources,
  options: RelayOptions = {},
): Promise<RelayPass> {
  const { config, redis, metrics } = resources;
  const limit = options.batchSize ?? BATCH_SIZE;
  const send: Send =
    options.send ??
    ((rows) =>
      sendRevocations(
        redis,
        sessionsRevokedKey(config.REDIS_PREFIX),
        config.REVOCATION_STREAM_MAXLEN,
        rows,
      ));
  const pass = await resources.db.transaction().execute(async (trx) => {
    if (!(await tryLockRelay(trx))) return { kind: 'busy' as const };
    const rows = await unsentRevocations(trx, limit);
    if (rows.length === 0) return { kind: 'sent' as const, rows, more: false };
    try {
      await withTimeout(send(rows), SEND_TIMEOUT_MS, 'sending revocations to redis');
    } catch (err) {
      throw new PublishError('could not send revocations to redis', { cause: toError(err) });
    }
    await markRevocationsSent(
      trx,
      rows.map((r) => r.id),
    );
    return { kind: 'sent' as const, rows, more: rows.length === limit };
  });
  if (pass.kind === 'busy') return pass;
  const now = Date.now();
  for (const row of pass.rows) {
    if (row.event_received_at)
      metrics.revocationDeliveryLatency.observe((now - row.event_received_at.getTime()) / 1000);
  }
  metrics.revocationsRelayed.inc(pass.rows.length);
  return { kind: 'sent', count: pass.rows.length, more: pass.more };
}

export interface RevocationRelay {
  /** A revoking transaction has committed: send now rather than at the next poll. */
  nudge(): void;
  /** Ends the loop after its current pass. */
  stop(): Promise<void>;
}

export function startRelay(resources: RelayResources, options: RelayOptions = {}): RevocationRelay {
  const log = resources.logger.child({ component: 'revocation-relay' });
  const pollMs = resources.config.REVOCATION_RELAY_POLL_MS;
  let stopped = false;
  let wanted = true; // a first pass at start: whatever a crash left unsent
  let wake: (() => void) | undefined;

  /** Waits `ms`, or less when woken (by stop() always, by nudge() when `nudgeable`). */
  const sleep = (ms: number, nudgeable: boolean) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wake = nudgeable ? done : () => stopped && done();
    });

  let lastPrune = Date.now();
  const prune = async () => {
    if (Date.now() - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = Date.now();
    const hours = resources.config.REVOCATION_OUTBOX_RETENTION_HOURS;
    const deleted = await pruneSentRevocations(resources.db, hours);
    if (deleted > 0) log.info({ deleted, hours }, 'pruned sent revocations');
  };

  const loop = async () => {
    let failures = 0;
    while (!stopped) {
      const nudged = wanted;
      wanted = false;
      try {
        const pass = await relayOnce(resources, options);
        if (failures > 0) log.info({ failures }, 'revocations sent again after failures');
        failures = 0;
        if (pass.kind === 'busy') {
          // Another relay may have read before our commit: look again soon.
          if (nudged || wanted) {
            wanted = true;
            await sleep(BUSY_RETRY_MS, false);
          } else await sleep(pollMs, true);
          continue;
        }
        if (pass.more) continue;
        await prune();
      } catch (caught) {
        const err = toError(caught);
        failures += 1;
        if (err instanceof PublishError) resources.metrics.revocationPublishFailures.inc();
        // Once per outage, then every 50th attempt: a Redis that is down for an hour
        // must not flood the log.
        if (failures === 1 || failures % 50 === 0)
          log.warn({ err, failures }, 'could not relay session revocations; retrying');
        wanted = true;
        await sleep(Math.min(MAX_BACKOFF_MS, 50 * 2 ** Math.min(failures, 10)), false);
        continue;
      }
      if (!wanted) await sleep(pollMs, true);
    }
  };
  const running = loop();

  return {
    nudge() {
      wanted = true;
      wake?.();
    },
    async stop() {
      stopped = true;
      wake?.();
      await running;
    },
  };
}
