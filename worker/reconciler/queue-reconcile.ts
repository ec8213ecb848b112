// Queueing a reconciliation of every organization on the reconcile queue, for
// when events may have been lost in bulk (the poller's cursor expired). The job is
// the scheduled one's (no organization: every organization not paused), and
// deduplicated, so repeated alarms while one waits queue it once.
import { Queue } from 'bullmq';
import { withTimeout } from '../../common/errors.ts';
import { type JobPayloads, QUEUES } from '../../common/queues.ts';
import type { Resources } from '../../common/resources.ts';

export const RECONCILE_ALL_JOB_ID = 'reconcile:all';
const QUEUE_TIMEOUT_MS = 5_000;

/** Resolves once the job is in Redis; throws (after at most 5 s) when it could not be. */
export async function queueReconcileAll(
  resources: Pick<Resources, 'config' | 'redis'>,
): Promise<void> {
  const queue = new Queue<JobPayloads['reconcile']>(QUEUES.reconcile, {
    connection: resources.redis,
    prefix: resources.config.REDIS_PREFIX,
  });
  queue.on('error', () => {}); // the add below reports its own failure
  try {
    await withTimeout(
      queue.add(
        'reconcile',
        {},
        {
          deduplication: { id: RECONCILE_ALL_JOB_ID },
          removeOnComplete: { count: 100 },
          removeOnFail: { count: 500 },
        },
      ),
      QUEUE_TIMEOUT_MS,
      'queueing the reconciliation of every organization',
    );
  } finally {
    await queue.close().catch(() => {});
  }
}
