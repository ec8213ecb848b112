// The worker: BullMQ workers for drain triggers (per-organization, in parallel
// across organizations) and for scheduled upkeep (sweeper, poller, reconciler).
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { type JobPayloads, QUEUES } from '../common/queues.ts';
import { createRedis, waitForRedis } from '../common/redis.ts';
import type { Resources } from '../common/resources.ts';
import { drainOrganization } from './drain/drain-organization.ts';
import { pollEvents } from './poller/poll-events.ts';
import { pruneOldEvents } from './prune-inbox.ts';
import { reconcileScheduled } from './reconciler/reconcile-scheduled.ts';
import { sweep } from './sweeper.ts';

export interface WorkerHandle {
  drainWorker: Worker;
  maintenanceWorker: Worker;
  maintenanceQueue: Queue;
  stop(): Promise<void>;
}

type MaintenanceName = Exclude<keyof JobPayloads, 'drain-organization'>;

export async function startWorker(resources: Resources): Promise<WorkerHandle> {
  const { config, logger } = resources;
  const connection = createRedis(config, 'worker', logger);
  await waitForRedis(connection, 10_000).catch((err) => {
    // Redis may come later: BullMQ reconnects. Postgres still holds every event.
    logger.warn({ err }, 'redis not ready at start-up; the worker will wait for it');
  });

  const drainWorker = new Worker<JobPayloads['drain-organization']>(
    QUEUES.drain,
    async (job) => {
      const organizationId = job.data?.organizationId;
      if (typeof organizationId !== 'string' || organizationId === '') {
        throw new UnrecoverableError('drain job without an organizationId');
      }
      const log = logger.child({ jobId: job.id, orgId: organizationId });
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      return drainOrganization(resources, organizationId, { log, lastAttempt });
    },
    {
      connection,
      prefix: config.REDIS_PREFIX,
      concurrency: config.DRAIN_CONCURRENCY,
      // A crashed worker's job is taken over after lockDuration + stalledInterval.
      lockDuration: config.DRAIN_JOB_LOCK_MS,
      stalledInterval: config.DRAIN_JOB_LOCK_MS,
      maxStalledCount: 5,
    },
  );
  drainWorker.on('failed', (job, err) =>
    logger.warn({ err, jobId: job?.id, orgId: job?.data.organizationId }, 'drain job failed'),
  );
  drainWorker.on('error', (err) => logger.warn({ err }, 'drain worker error'));

  const maintenanceQueue = new Queue(QUEUES.maintenance, {
    connection,
    prefix: config.REDIS_PREFIX,
  });
  maintenanceQueue.on('error', (err) => logger.warn({ err }, 'maintenance queue error'));
  const processors: Record<MaintenanceName, (job: Job) => Promise<unknown>> = {
    sweep: () => sweep(resources),
    'prune-inbox': () => pruneOldEvents(resources),
    poll: () => pollEvents(resources),
    reconcile: (job) =>
      reconcileScheduled(resources, (job.data as JobPayloads['reconcile']).organizationId),
  };
  const maintenanceWorker = new Worker(
    QUEUES.maintenance,
    async (job) => {
      const run = processors[job.name as MaintenanceName];
      if (!run) throw new Error(`unknown maintenance job ${job.name}`);
      return run(job);
    },
    { connection, prefix: config.REDIS_PREFIX, concurrency: 2 },
  );
  maintenanceWorker.on('error', (err) => logger.warn({ err }, 'maintenance worker error'));
  maintenanceWorker.on('failed', (job, err) =>
    logger.warn({ err, job: job?.name }, 'maintenance job failed'),
  );

  // The schedulers live in Redis: a Redis that restarts empty (it keeps nothing on
  // disk here) or is flushed loses them, and with them the sweeper that recovers
  // lost triggers. So they are put back at every reconnect, and a watchdog checks
  // once a sweep interval that the sweep scheduler still exists.
  let scheduling: Promise<void> | undefined;
  const ensureScheduled = (why: string) => {
    scheduling ??= scheduleMaintenance(resources, maintenanceQueue)
      .catch((err) => logger.warn({ err, why }, 'could not schedule maintenance jobs; will retry'))
      .finally(() => {
        scheduling = undefined;
      });
    return scheduling;
  };
  // Not waiting for a Redis that is down: the reconnect puts the schedulers in place.
  if (connection.status === 'ready') await ensureScheduled('start-up');
  const onReady = () => void ensureScheduled('redis reconnected');
  connection.on('ready', onReady);
  const watchdog = setInterval(() => {
    if (connection.status !== 'ready') return; // the reconnect will schedule
    maintenanceQueue
      .getJobScheduler('sweep')
      .then((scheduler) => {
        if (!scheduler) {
          logger.warn('the sweep scheduler is missing from Redis; scheduling it again');
          return ensureScheduled('sweep scheduler missing');
        }
      })
      .catch((err) => logger.debug({ err }, 'sweep watchdog could not reach Redis'));
  }, config.SWEEP_INTERVAL_MS);
  watchdog.unref();

  let stopping: Promise<void> | undefined;
  return {
    drainWorker,
    maintenanceWorker,
    maintenanceQueue,
    stop() {
      // Worker.close() waits for active jobs to finish; new jobs are not taken.
      stopping ??= (async () => {
        clearInterval(watchdog);
        connection.off('ready', onReady);
        await Promise.all([drainWorker.close(), maintenanceWorker.close()]);
        await maintenanceQueue.close();
        connection.disconnect();
      })();
      return stopping;
    },
  };
}

// Retention is counted in days: looking every ten minutes is plenty.
const PRUNE_EVERY_MS = 10 * 60_000;

async function scheduleMaintenance(resources: Resources, queue: Queue): Promise<void> {
  const { config } = resources;
  const template = (name: MaintenanceName) => ({
    name,
    data: {},
    opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } },
  });
  await queue.upsertJobScheduler('sweep', { every: config.SWEEP_INTERVAL_MS }, template('sweep'));
  if (config.INBOX_RETENTION_DAYS > 0) {
    await queue.upsertJobScheduler(
      'prune-inbox',
      { every: PRUNE_EVERY_MS },
      template('prune-inbox'),
    );
  } else {
    await queue.removeJobScheduler('prune-inbox');
  }
  const polling = config.WORKOS_POLL_INTERVAL_MS > 0 && Boolean(config.WORKOS_API_KEY);
  if (polling) {
    await queue.upsertJobScheduler(
      'poll',
      { every: config.WORKOS_POLL_INTERVAL_MS },
      template('poll'),
    );
  } else {
    await queue.removeJobScheduler('poll');
  }
  const reconciling = config.WORKOS_RECONCILE_INTERVAL_MS > 0 && Boolean(config.WORKOS_API_KEY);
  if (reconciling) {
    await queue.upsertJobScheduler(
      'reconcile',
      { every: config.WORKOS_RECONCILE_INTERVAL_MS },
      template('reconcile'),
    );
  } else {
    await queue.removeJobScheduler('reconcile');
  }
}
