// Queueing a reconciliation of every organization on the reconcile queue, for
// when events may have been lost in bulk (the poller's cursor expired). The job is
// the scheduled one's (no organization: every organization not paused), and
// deduplicated, so repeated alarms while one waits queue it once.
import { Queue } from 'bullmq';
import { QUEUES } from '../../common/queues.ts';
import type { Resources } from '../../common/resources.ts';
import { queueReconcile, type ReconcileQueue } from '../../common/triggers.ts';

/** Resolves once the job is in Redis; throws (after at most 5 s) when it could not be. */
export async function queueReconcileAll(
  resources: Pick<Resources, 'config' | 'redis'>,
): Promise<void> {
  const queue: ReconcileQueue = new Queue(QUEUES.reconcile, {
    connection: resources.redis,
    prefix: resources.config.REDIS_PREFIX,
  });
  queue.on('error', () => {}); // the add below reports its own failure
  try {
    await queueReconcile(queue);
  } finally {
    await queue.close().catch(() => {});
  }
}
