// The connections a dirsync process holds: one Postgres pool (through Kysely), a
// fail-fast Redis connection for producing triggers and publishing, and the drain
// queue. Opened once per process, closed once at shutdown.
import { createDatabase, type Database, pingDatabase } from '../db/database.ts';
import type { Config } from './config.ts';
import { withTimeout } from './errors.ts';
import type { Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createRedis, errorsOnce, type Redis, waitForRedis } from './redis.ts';
import { createDrainQueue, type DrainQueue } from './triggers.ts';

export interface Resources {
  config: Config;
  logger: Logger;
  db: Database;
  redis: Redis;
  drainQueue: DrainQueue;
  metrics: Metrics;
  close(): Promise<void>;
}

export function openResources(
  config: Config,
  logger: Logger,
  metrics: Metrics = createMetrics(),
): Resources {
  const db = createDatabase(config, { logger: logger.child({ component: 'db' }) });
  const redis = createRedis(config, 'producer', logger);
  const drainQueue = createDrainQueue(config, redis);
  const report = errorsOnce(redis, logger);
  drainQueue.on('error', (err) => report('drain queue error', err));
  let closing: Promise<void> | undefined;
  return {
    config,
    logger,
    db,
    redis,
    drainQueue,
    metrics,
    close() {
      closing ??= (async () => {
        // A Redis that is not there has nothing to flush: do not wait for it.
        if (redis.status !== 'ready') redis.disconnect();
        await drainQueue.close().catch(() => {});
        redis.disconnect();
        await db.destroy();
      })();
      return closing;
    },
  };
}

export interface Check {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

async function timed(run: () => Promise<unknown>, what: string, timeoutMs: number): Promise<Check> {
  const started = performance.now();
  try {
    await withTimeout(run(), timeoutMs, what);
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    return {
      ok: false,
      latencyMs: Math.round(performance.now() - started),
      error: `${what} unreachable: ${(err as Error).message}`,
    };
  }
}

/** Whether Postgres and Redis answer, each within `timeoutMs`. */
export async function checkDependencies(
  resources: Pick<Resources, 'db' | 'redis'>,
  timeoutMs = 2_000,
): Promise<{ postgres: Check; redis: Check }> {
  const [postgres, redis] = await Promise.all([
    timed(() => pingDatabase(resources.db), 'postgres', timeoutMs),
    timed(
      async () => {
        // A fail-fast connection still connecting would refuse the ping outright.
        await waitForRedis(resources.redis, timeoutMs);
        await resources.redis.ping();
      },
      'redis',
      timeoutMs,
    ),
  ]);
  return { postgres, redis };
}
