// Producing jobs. Drain triggers: "drain organization X", deduplicated so that at
// most one trigger waits and one runs per organization (BullMQ keepLastIfActive).
// Reconciliations: of one organization, or of every one, deduplicated while one waits.
import { Queue } from 'bullmq';
import type { Config } from './config.ts';
import { withTimeout } from './errors.ts';
import { drainJobId, type JobPayloads, QUEUES } from './queues.ts';
import type { Redis } from './redis.ts';

export type DrainQueue = Queue<JobPayloads['drain-organization'], unknown, 'drain-organization'>;

export function createDrainQueue(
  config: Pick<Config, 'REDIS_PREFIX'>,
  connection: Redis,
): DrainQueue {
  return new Queue(QUEUES.drain, {
    connection,
    prefix: config.REDIS_PREFIX,
    defaultJobOptions: {
      attempts: 12,
      backoff: { type: 'exponential', delay: 500, jitter: 0.5 },
      removeOnComplete: { count: 1000, age: 3600 },
      removeOnFail: { count: 5000, age: 7 * 24 * 3600 },
    },
  });
}

// BullMQ waits for a lost Redis connection indefinitely; a trigger is only a hint
// (the sweeper re-triggers from Postgres), so no caller should wait long for one.
const TRIGGER_TIMEOUT_MS = 5_000;

export async function triggerDrain(queue: DrainQueue, organizationId: string): Promise<void> {
  await withTimeout(
    queue.add(
      'drain-organization',
      { organizationId },
      { deduplication: { id: drainJobId(organizationId), keepLastIfActive: true } },
    ),
    TRIGGER_TIMEOUT_MS,
    'drain trigger',
  );
}

export async function triggerDrains(
  queue: DrainQueue,
  organizationIds: Iterable<string>,
): Promise<void> {
  const unique = [...new Set(organizationIds)];
  if (unique.length === 0) return;
  await withTimeout(
    queue.addBulk(
      unique.map((organizationId) => ({
        name: 'drain-organization' as const,
        data: { organizationId },
        opts: { deduplication: { id: drainJobId(organizationId), keepLastIfActive: true } },
      })),
    ),
    TRIGGER_TIMEOUT_MS,
    'drain triggers',
  );
}

export type ReconcileQueue = Queue<JobPayloads['reconcile']>;

/** The deduplication id of a reconciliation (of every organization without one). */
export function reconcileJobId(organizationId?: string): string {
  return organizationId === undefined ? 'reconcile:all' : `reconcile:${organizationId}`;
}

/**
 * Queues a reconciliation of `organizationId` (every organization not paused when
 * omitted); resolves once it is in Redis, throws after `timeoutMs` when it cannot be.
 */
export async function queueReconcile(
  queue: ReconcileQueue,
  organizationId?: string,
  timeoutMs = TRIGGER_TIMEOUT_MS,
) {
  return withTimeout(
    queue.add('reconcile', organizationId === undefined ? {} : { organizationId }, {
      deduplication: { id: reconcileJobId(organizationId) },
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 500 },
    }),
    timeoutMs,
    'queueing the reconciliation',
  );
}
