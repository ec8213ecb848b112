// The admin JSON API under /admin/api: per-organization status, dead events, and
// the operator actions (replay, resync, pause, resume). Authentication and the
// read-only guard are the enclosing scope's (api/admin/index.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  assertOrganizationExists,
  deadEvents,
  type OperatorDeps,
  OperatorError,
  pause,
  replayDeadEventsOf,
  replayOneEvent,
  resume,
} from '../../common/operator-actions.ts';
import type { Resources } from '../../common/resources.ts';
import { queueReconcile, triggerDrain } from '../../common/triggers.ts';
import { recordOperatorAction } from '../../db/repositories/audit.repository.ts';
import {
  organizationStatus,
  organizationStatuses,
  type PollStatus,
  pollStatuses,
} from '../../db/repositories/status.repository.ts';
import { AppError } from '../errors.ts';
import type { DirsyncQueues } from '../queues.ts';
import { operatorOf } from './auth.ts';

/** BullMQ waits for an unreachable Redis without end; a request answers 503 instead. */
const QUEUE_TIMEOUT_MS = 2_000;

const orgParams = {
  type: 'object',
  required: ['organizationId'],
  properties: { organizationId: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

const limitQuery = (extra: Record<string, unknown> = {}) =>
  ({
    type: 'object',
    additionalProperties: false,
    properties: { limit: { type: 'integer', minimum: 1, maximum: 1000 }, ...extra },
  }) as const;

/** Polling is global, not per organization: the latest poll of any cursor. */
function lastPolledAt(poll: PollStatus[]): Date | null {
  return poll.reduce<Date | null>(
    (last, p) => (last && last >= p.polledAt ? last : p.polledAt),
    null,
  );
}

async function operatorAction<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof OperatorError) {
      throw err.code === 'not_replayable'
        ? new AppError(409, 'conflict', err.message)
        : new AppError(404, 'not_found', err.message);
    }
    throw err;
  }
}

export function registerAdminApi(
  scope: FastifyInstance,
  resources: Resources,
  queues: DirsyncQueues,
): void {
  const { db } = resources;
  /** The actions' dependencies, acting as the request's operator. */
  const deps = (request: FastifyRequest): OperatorDeps => ({
    db,
    actor: { name: operatorOf(request), via: 'admin_api' },
    triggerDrain: (organizationId) => triggerDrain(resources.drainQueue, organizationId),
    onTriggerError: (err, orgId) =>
      resources.logger.warn({ err, orgId }, 'drain trigger failed; the sweeper will retry'),
  });

  scope.get<{ Querystring: { limit?: number } }>(
    '/api/organizations',
    { schema: { querystring: limitQuery() } },
    async (request) => {
      const [statuses, poll] = await Promise.all([
        organizationStatuses(db, { limit: request.query.limit }),
        pollStatuses(db),
      ]);
      return {
        total: statuses.total,
        organizations: statuses.organizations,
        poll,
      };
    },
  );

  scope.get<{ Params: { organizationId: string } }>(
    '/api/organizations/:organizationId',
    { schema: { params: orgParams } },
    async (request) => {
      const [status, poll] = await Promise.all([
        organizationStatus(db, request.params.organizationId),
        pollStatuses(db),
      ]);
      if (!status) {
        throw new AppError(
          404,
          'not_found',
          `unknown organization ${request.params.organizationId}`,
        );
      }
      return { ...status, lastPolledAt: lastPolledAt(poll) };
    },
  );

  scope.get<{ Querystring: { limit?: number; organization?: string } }>(
    '/api/dead-events',
    { schema: { querystring: limitQuery({ organization: { type: 'string', minLength: 1 } }) } },
    async (request) => {
      const { organization, limit } = request.query;
      if (organization) await operatorAction(() => assertOrganizationExists(db, organization));
      const events = await deadEvents(db, { organizationId: organization, limit });
      return { events };
    },
  );

  scope.post<{ Params: { eventId: string } }>(
    '/api/events/:eventId/replay',
    {
      schema: {
        params: {
          type: 'object',
          required: ['eventId'],
          properties: { eventId: { type: 'string', minLength: 1, maxLength: 200 } },
        },
      },
    },
    async (request) => operatorAction(() => replayOneEvent(deps(request), request.params.eventId)),
  );

  scope.post<{ Params: { organizationId: string } }>(
    '/api/organizations/:organizationId/replay-dead',
    { schema: { params: orgParams } },
    async (request) =>
      operatorAction(() => replayDeadEventsOf(deps(request), request.params.organizationId)),
  );

  scope.post<{ Params: { organizationId: string } }>(
    '/api/organizations/:organizationId/pause',
    { schema: { params: orgParams } },
    async (request) => operatorAction(() => pause(deps(request), request.params.organizationId)),
  );

  scope.post<{ Params: { organizationId: string } }>(
    '/api/organizations/:organizationId/resume',
    { schema: { params: orgParams } },
    async (request) => operatorAction(() => resume(deps(request), request.params.organizationId)),
  );

  // The worker's reconcile queue runs the reconciler; deduplicated so that a
  // double click queues one resync, not two. Without an API key the worker would
  // take the job and do nothing, so it is refused here instead of answered 202.
  scope.post<{ Params: { organizationId: string } }>(
    '/api/organizations/:organizationId/resync',
    { schema: { params: orgParams } },
    async (request, reply) => {
      const { organizationId } = request.params;
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
      await recordOperatorAction(db, deps(request).actor, {
        action: 'resync_queued',
        organizationId,
        subjectType: 'organization',
        subjectId: organizationId,
        detail: { jobId: job.id },
      });
      return reply.status(202).send({ organizationId, queued: true, jobId: job.id });
    },
  );
}
