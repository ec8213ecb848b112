// The worker's job schedulers (BullMQ, in Redis): the sweeper, inbox pruning, the
// Events API poller and the scheduled reconciliation, each on when its settings say.
//
// They live in Redis, so a Redis that restarts empty (it keeps nothing on disk here)
// or is flushed loses them, and with them the sweeper that recovers lost triggers.
// They are put back at every reconnect, and a watchdog checks once a sweep interval
// that the sweep scheduler still exists.
import type { Queue } from 'bullmq';
import type { JobPayloads } from '../common/queues.ts';
import type { Redis } from '../common/redis.ts';
import type { Resources } from '../common/resources.ts';

export type ScheduledName = Exclude<keyof JobPayloads, 'drain-organization'>;

// Retention is counted in days: looking every ten minutes is plenty.
const PRUNE_EVERY_MS = 10 * 60_000;

const template = (name: ScheduledName) => ({
  name,
  data: {},
  opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } },
});

async function schedule(queue: Queue, name: ScheduledName, everyMs: number, on: boolean) {
  if (on) await queue.upsertJobScheduler(name, { every: everyMs }, template(name));
  else await queue.removeJobScheduler(name);
}

export async function scheduleJobs(
  config: Resources['config'],
  queues: { maintenance: Queue; reconcile: Queue },
): Promise<void> {
  const workos = Boolean(config.WORKOS_API_KEY);
  await schedule(queues.maintenance, 'sweep', config.SWEEP_INTERVAL_MS, true);
  await schedule(
    queues.maintenance,
    'prune-inbox',
    PRUNE_EVERY_MS,
    config.INBOX_RETENTION_DAYS > 0,
  );
  await schedule(
    queues.maintenance,
    'poll',
    config.WORKOS_POLL_INTERVAL_MS,
    workos && config.WORKOS_POLL_INTERVAL_MS > 0,
  );
  // Before the reconcile queue existed, its scheduler was on the maintenance queue.
  await queues.maintenance.removeJobScheduler('reconcile');
  await schedule(
    queues.reconcile,
    'reconcile',
    config.WORKOS_RECONCILE_INTERVAL_MS,
    workos && config.WORKOS_RECONCILE_INTERVAL_MS > 0,
  );
}

/** Keeps the schedulers in Redis; the returned function stops watching. */
export async function keepScheduled(
  resources: Pick<Resources, 'config' | 'logger'>,
  connection: Redis,
  queues: { maintenance: Queue; reconcile: Queue },
): Promise<() => void> {
  const { config, logger } = resources;
  let scheduling: Promise<void> | undefined;
  const ensure = (why: string) => {
    scheduling ??= scheduleJobs(config, queues)
      .catch((err) => logger.warn({ err, why }, 'could not schedule maintenance jobs; will retry'))
      .finally(() => {
        scheduling = undefined;
      });
    return scheduling;
  };
  // Not waiting for a Redis that is down: the reconnect puts the schedulers in place.
  if (connection.status === 'ready') await ensure('start-up');
  const onReady = () => void ensure('redis reconnected');
  connection.on('ready', onReady);
  const watchdog = setInterval(() => {
    if (connection.status !== 'ready') return; // the reconnect will schedule
    queues.maintenance
      .getJobScheduler('sweep')
      .then((scheduler) => {
        if (scheduler) return;
        logger.warn('the sweep scheduler is missing from Redis; scheduling it again');
        return ensure('sweep scheduler missing');
      })
      .catch((err) => logger.debug({ err }, 'sweep watchdog could not reach Redis'));
  }, config.SWEEP_INTERVAL_MS);
  watchdog.unref();
  return () => {
    clearInterval(watchdog);
    connection.off('ready', onReady);
  };
}
