// The revocation relay: a loop of relay passes (relay-pass.ts) that runs whenever
// the outbox may hold unsent messages. Every worker runs one; the relay lock lets
// one send at a time.
//
// Woken at once:
// - by nudge(), which the drain calls after a revoking commit in this process;
// - by the outbox's Postgres NOTIFY (revocationOutboxChannel), which every commit
//   that writes outbox rows sends, from any process (the API's SCIM drains, other
//   workers, a replay): a LISTEN on a session of its own (DATABASE_DIRECT_URL) that
//   reconnects by itself and looks again after each reconnection;
// - else by a slow poll, REVOCATION_RELAY_POLL_MS, the net for anything the
//   LISTEN missed; while the LISTEN is down, by a poll of at most
//   UNLISTENED_POLL_MS.
//
// stop() ends with a final flush: what was committed before it is sent before the
// relay exits, until nothing is unsent or the flush's deadline passes, or at once
// when Redis is not connected (what is left then waits in the outbox for the next
// relay's first pass).
import { setTimeout as delay } from 'node:timers/promises';
import { toError } from '../../common/errors.ts';
import { listenForNotifications } from '../../db/notification-listener.ts';
import {
  pruneSentRevocations,
  revocationOutboxChannel,
} from '../../db/repositories/revocation-outbox.repository.ts';
import { PublishError, type RelayOptions, type RelayResources, relayOnce } from './relay-pass.ts';

/** Another process's relay holds the lock: try again this soon when work is wanted. */
const BUSY_RETRY_MS = 20;
/** Backoff while Redis (or Postgres) fails: doubling from 50 ms up to this. */
const MAX_BACKOFF_MS = 2_000;
/** The poll while the LISTEN connection is down (REVOCATION_RELAY_POLL_MS if shorter). */
const UNLISTENED_POLL_MS = 1_000;
const PRUNE_EVERY_MS = 10 * 60_000;
/** The final flush's bound when stop() is given none. */
const DEFAULT_FLUSH_MS = 5_000;

export { PublishError, type RelayPass, relayOnce } from './relay-pass.ts';

export interface StartRelayOptions extends RelayOptions {
  /** Listen for the outbox's NOTIFY (default true). */
  listen?: boolean;
}

export interface StopOptions {
  /** The final flush ends by this time (epoch ms) whatever is left; 0: no flush. */
  flushUntil?: number;
}

export interface RevocationRelay {
  /** A revoking transaction has committed: send now rather than at the next poll. */
  nudge(): void;
  /** Whether the LISTEN for the outbox's NOTIFY is in place. */
  readonly listening: boolean;
  /** Ends the loop after its current pass, flushes what is committed, closes the LISTEN. */
  stop(options?: StopOptions): Promise<void>;
}

type Log = RelayResources['logger'];

/** Failures in a row: counted, logged once per outage, each turned into a backoff. */
function failureCounter(resources: RelayResources, log: Log) {
  let failures = 0;
  return {
    /** Counts a failure; returns how long to wait before trying again. */
    failed(caught: unknown): number {
      const err = toError(caught);
      failures += 1;
      if (err instanceof PublishError) resources.metrics.revocationPublishFailures.inc();
      // Once per outage, then every 50th attempt: a Redis that is down for an hour
      // must not flood the log.
      if (failures === 1 || failures % 50 === 0)
        log.warn({ err, failures }, 'could not relay session revocations; retrying');
      return Math.min(MAX_BACKOFF_MS, 50 * 2 ** Math.min(failures, 10));
    },
    succeeded() {
      if (failures > 0) log.info({ failures }, 'revocations sent again after failures');
      failures = 0;
    },
  };
}

/** Deletes sent rows past the retention, at most every PRUNE_EVERY_MS. */
function pruner(resources: RelayResources, log: Log) {
  let lastPrune = Date.now();
  return async () => {
    if (Date.now() - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = Date.now();
    const hours = resources.config.REVOCATION_OUTBOX_RETENTION_HOURS;
    const deleted = await pruneSentRevocations(resources.db, hours);
    if (deleted > 0) log.info({ deleted, hours }, 'pruned sent revocations');
  };
}

/** The final flush: passes until one finds nothing more to send, or `until` passes. */
async function flush(
  resources: RelayResources,
  options: RelayOptions,
  until: number,
  failures: ReturnType<typeof failureCounter>,
): Promise<boolean> {
  for (;;) {
    const left = until - Date.now();
    if (left <= 0) return false;
    // A pass that outlives the deadline is left to finish (or fail) on its own.
    const pass = relayOnce(resources, options).then(
      (done) => ({ done }),
      (err: unknown) => ({ err }),
    );
    const outcome = await Promise.race([pass, delay(left, undefined)]);
    if (!outcome) return false;
    if ('err' in outcome) {
      const wait = failures.failed(outcome.err);
      // Redis is away: nothing can go out, and the worker closes at once without it.
      if (outcome.err instanceof PublishError && resources.redis.status !== 'ready') return false;
      await delay(Math.max(0, Math.min(until - Date.now(), wait)));
      continue;
    }
    failures.succeeded();
    if (outcome.done.kind === 'busy') await delay(BUSY_RETRY_MS);
    else if (!outcome.done.more) return true;
  }
}

export function startRelay(
  resources: RelayResources,
  options: StartRelayOptions = {},
): RevocationRelay {
  const { config } = resources;
  const log = resources.logger.child({ component: 'revocation-relay' });
  const failures = failureCounter(resources, log);
  const prune = pruner(resources, log);
  let stopped = false;
  let wanted = true; // a first pass at start: whatever a crash left unsent
  let wake: (() => void) | undefined;

  const nudge = () => {
    wanted = true;
    wake?.();
  };
  const listener =
    options.listen === false
      ? undefined
      : listenForNotifications({
          config,
          channel: revocationOutboxChannel(config.DATABASE_SCHEMA),
          applicationName: `dirsync-relay:${config.DATABASE_SCHEMA}`,
          logger: log,
          onNotification: nudge,
          // Commits notified while the LISTEN was down went unheard: look now.
          onListening: nudge,
        });
  const pollMs = () =>
    listener?.listening
      ? config.REVOCATION_RELAY_POLL_MS
      : Math.min(config.REVOCATION_RELAY_POLL_MS, UNLISTENED_POLL_MS);

  /** Waits `ms`, or less when woken (by stop() always, by nudge() when `nudgeable`). */
  const sleep = (ms: number, nudgeable: boolean) =>
    new Promise<void>((resolve) => {
      if (stopped) return resolve(); // stop() came during the pass: its wake found no sleep
      const done = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wake = nudgeable ? done : () => stopped && done();
    });

  const loop = async () => {
    while (!stopped) {
      const nudged = wanted;
      wanted = false;
      try {
        const pass = await relayOnce(resources, options);
        failures.succeeded();
        if (pass.kind === 'busy') {
          // Another relay may have read before our commit: look again soon.
          if (nudged || wanted) {
            wanted = true;
            await sleep(BUSY_RETRY_MS, false);
          } else await sleep(pollMs(), true);
          continue;
        }
        if (pass.more) continue;
        await prune();
      } catch (caught) {
        wanted = true;
        await sleep(failures.failed(caught), false);
        continue;
      }
      if (!wanted) await sleep(pollMs(), true);
    }
  };

  const running = loop();
  return {
    nudge,
    get listening() {
      return listener?.listening ?? false;
    },
    async stop(stopOptions = {}) {
      const until = stopOptions.flushUntil ?? Date.now() + DEFAULT_FLUSH_MS;
      stopped = true;
      wake?.();
      await running;
      const flushed = until > 0 ? await flush(resources, options, until, failures) : true;
      if (!flushed) log.warn('revocations left unsent at stop; the next relay sends them');
      await listener?.close();
    },
  };
}
