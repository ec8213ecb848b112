// The worker: BullMQ workers for drain triggers (per-organization, in parallel
// across organizations), for short scheduled upkeep (sweeper, poller, inbox
// pruning) and for reconciliations, which are long and so kept apart.
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { type JobPayloads, QUEUES } from '../common/queues.ts';
import { createRedis, errorsOnce, type Redis, waitForRedis } from '../common/redis.ts';
import type { Resources } from '../common/resources.ts';
import { drainOrganization } from './drain/drain-organization.ts';
import { pollEvents } from './poller/poll-events.ts';
import { pruneOldEvents } from './prune-inbox.ts';
import { reconcileScheduled } from './reconciler/reconcile-scheduled.ts';
import { registerOutboxMetrics } from './relay/outbox-metrics.ts';
import { type RevocationRelay, startRelay } from './relay/revocation-relay.ts';
import { keepScheduled, type ScheduledName } from './schedules.ts';
import { sweep } from './sweeper.ts';

export interface WorkerHandle {
  drainWorker: Worker;
  maintenanceWorker: Worker;
  reconcileWorker: Worker;
  maintenanceQueue: Queue;
  reconcileQueue: Queue;
  relay: RevocationRelay;
  stop(): Promise<void>;
}

/** Whether BullMQ will not retry this job if this attempt fails. */
export function isLastAttempt(job: Pick<Job, 'attemptsMade' | 'opts'>): boolean {
  // attemptsMade counts the attempts that failed before this one.
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/** The part of SHUTDOWN_TIMEOUT_MS by which the relay's final flush must end. */
const FLUSH_SHARE = 0.8;

type MaintenanceName = Exclude<ScheduledName, 'reconcile'>;

type WorkerOptions = { connection: Redis; prefix: string };

/** Drain triggers: one organization per job, organizations in parallel. */
function startDrainWorker(
  resources: Resources,
  options: WorkerOptions,
  relay: RevocationRelay,
): Worker {
  const { config, logger } = resources;
  const drainWorker = new Worker<JobPayloads['drain-organization']>(
    QUEUES.drain,
    async (job) => {
      const organizationId = job.data?.organizationId;
      if (typeof organizationId !== 'string' || organizationId === '') {
        throw new UnrecoverableError('drain job without an organizationId');
      }
      const log = logger.child({ jobId: job.id, orgId: organizationId });
      return drainOrganization(resources, organizationId, {
        log,
        lastAttempt: isLastAttempt(job),
        revocationsCommitted: relay.nudge,
      });
    },
    {
      ...options,
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
  // While Redis is away, BullMQ reports the same error from every worker and queue
  // on every retry: each kind is logged once until a connection is ready again.
  const report = errorsOnce(options.connection, logger);
  drainWorker.on('error', (err) => report('drain worker error', err));
  return drainWorker;
}

/** Short scheduled upkeep (sweeper, poller, pruning), and reconciliations apart. */
function startUpkeepWorkers(resources: Resources, options: WorkerOptions) {
  const { logger } = resources;
  const report = errorsOnce(options.connection, logger);
  const processors: Record<MaintenanceName, () => Promise<unknown>> = {
    sweep: () => sweep(resources),
    'prune-inbox': () => pruneOldEvents(resources),
    poll: () => pollEvents(resources),
  };
  // Concurrency 2: a long catch-up poll never holds up the sweep.
  const maintenanceWorker = new Worker(
    QUEUES.maintenance,
    async (job: Job) => {
      const run = processors[job.name as MaintenanceName];
      if (!run) throw new Error(`unknown maintenance job ${job.name}`);
      return run();
    },
    { ...options, concurrency: 2 },
  );
  const reconcileWorker = new Worker<JobPayloads['reconcile']>(
    QUEUES.reconcile,
    async (job) => reconcileScheduled(resources, job.data?.organizationId),
    { ...options, concurrency: 2 },
  );
  for (const [name, worker] of [
    ['maintenance', maintenanceWorker],
    ['reconcile', reconcileWorker],
  ] as const) {
    worker.on('error', (err) => report(`${name} worker error`, err));
    worker.on('failed', (job, err) => logger.warn({ err, job: job?.name }, `${name} job failed`));
  }
  return { maintenanceWorker, reconcileWorker };
}

export async function startWorker(resources: Resources): Promise<WorkerHandle> {
  const { config, logger } = resources;
  const connection = createRedis(config, 'worker', logger);
  await waitForRedis(connection, 10_000).catch((err) => {
    // Redis may come later: BullMQ reconnects. Postgres still holds every event.
    logger.warn({ err }, 'redis not ready at start-up; the worker will wait for it');
  });
  const options = { connection, prefix: config.REDIS_PREFIX };
  // Sends the revocation outbox to Redis; every worker runs one, one sends at a time.
  const relay = startRelay(resources);
  registerOutboxMetrics(resources.metrics.registry, resources.db, relay);
  const drainWorker = startDrainWorker(resources, options, relay);
  const { maintenanceWorker, reconcileWorker } = startUpkeepWorkers(resources, options);

  const report = errorsOnce(connection, logger);
  const maintenanceQueue = new Queue(QUEUES.maintenance, options);
  const reconcileQueue = new Queue(QUEUES.reconcile, options);
  for (const queue of [maintenanceQueue, reconcileQueue])
    queue.on('error', (err) => report('queue error', err, { queue: queue.name }));
  const stopScheduling = await keepScheduled(resources, connection, {
    maintenance: maintenanceQueue,
    reconcile: reconcileQueue,
  });

  let stopping: Promise<void> | undefined;
  return {
    drainWorker,
    maintenanceWorker,
    reconcileWorker,
    maintenanceQueue,
    reconcileQueue,
    relay,
    stop() {
      // Worker.close() waits for active jobs to finish; new jobs are not taken.
      // Without Redis there is nothing to hand back (a job's lock lapses by itself)
      // and BullMQ would wait for a reconnect: close at once instead.
      stopping ??= (async () => {
        // The relay's final flush ends well within SHUTDOWN_TIMEOUT_MS (counted from
        // here, as the process's own exit timer is), leaving time to close the rest.
        const flushUntil = Date.now() + config.SHUTDOWN_TIMEOUT_MS * FLUSH_SHARE;
        stopScheduling();
        const force = connection.status !== 'ready';
        if (force) connection.disconnect();
        await Promise.all([
          drainWorker.close(force),
          maintenanceWorker.close(force),
          reconcileWorker.close(force),
        ]);
        await Promise.all([maintenanceQueue.close(), reconcileQueue.close()]);
        // After the drains: the relay sends what they committed (a final flush), and
        // whatever it could not send by then waits in the outbox for the next relay.
        await relay.stop({ flushUntil });
        connection.disconnect();
      })();
      return stopping;
    },
  };
}
