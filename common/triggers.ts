// Producing drain triggers: "drain organization X". Deduplicated so that at most one
// trigger waits and one runs per organization (BullMQ keepLastIfActive).
import { Queue } from 'bullmq';
import type { Config } from './config.ts';
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

export async function triggerDrain(queue: DrainQueue, organizationId: string): Promise<void> {
  await queue.add(
    'drain-organization',
    { organizationId },
    { deduplication: { id: drainJobId(organizationId), keepLastIfActive: true } },
  );
}

export async function triggerDrains(
  queue: DrainQueue,
  organizationIds: Iterable<string>,
): Promise<void> {
  const unique = [...new Set(organizationIds)];
  if (unique.length === 0) return;
  await queue.addBulk(
    unique.map((organizationId) => ({
      name: 'drain-organization' as const,
      data: { organizationId },
      opts: { deduplication: { id: drainJobId(organizationId), keepLastIfActive: true } },
    })),
  );
}
