// Queueing a resync from the admin surface (the JSON API and the status page's
// button): the worker's reconcile queue runs the reconciler. Deduplicated, so that a
// double click queues one resync, not two. Without an API key the worker would take
// the job and do nothing, so it is refused here instead.
import { type Actor, assertOrganizationExists } from '../../common/operator-actions.ts';
import type { Resources } from '../../common/resources.ts';
import { queueReconcile } from '../../common/triggers.ts';
import { recordOperatorAction } from '../../db/repositories/audit.repository.ts';
import { AppError } from '../errors.ts';
import type { DirsyncQueues } from '../queues.ts';
import { operatorAction } from './operator-action.ts';

/** BullMQ waits for an unreachable Redis without end; a request answers 503 instead. */
const QUEUE_TIMEOUT_MS = 2_000;

export interface QueuedResync {
  organizationId: string;
  queued: true;
  jobId: string | undefined;
}

export async function queueResync(
  resources: Resources,
  queues: DirsyncQueues,
  actor: Actor,
  organizationId: string,
): Promise<QueuedResync> {
  const { db } = resources;
  if (!resources.config.WORKOS_API_KEY) {
    throw new AppError(
      503,
      'not_configured',
      'WORKOS_API_KEY is not set: resync needs the WorkOS directory API',
    );
  }
  await operatorAction(() => assertOrganizationExists(db, organizationId));
  const job = await queueReconcile(queues.reconcile, organizationId, QUEUE_TIMEOUT_MS).catch(
    (err: unknown) => {
      throw new AppError(503, 'unavailable', 'could not queue the resync: Redis unreachable', {
        cause: err,
      });
    },
  );
  await recordOperatorAction(db, actor, {
    action: 'resync_queued',
    organizationId,
    subjectType: 'organization',
    subjectId: organizationId,
    detail: { jobId: job.id },
  });
  return { organizationId, queued: true, jobId: job.id };
}
