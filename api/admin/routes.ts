// The admin JSON API under /admin/api: per-organization status, dead events, and
// the operator actions (replay, resync, pause, resume). Authentication and the
// read-only guard are the enclosing scope's (api/admin/index.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  assertOrganizationExists,
  deadEvents,
  pause,
  replayDeadEventsOf,
  replayOneEvent,
  resume,
} from '../../common/operator-actions.ts';
import type { Resources } from '../../common/resources.ts';
import {
  organizationStatus,
  organizationStatuses,
  type PollStatus,
  pollStatuses,
} from '../../db/repositories/status.repository.ts';
import { AppError } from '../errors.ts';
import type { DirsyncQueues } from '../queues.ts';
import { operatorAction, operatorDeps } from './operator-action.ts';
import { queueResync } from './resync.ts';

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

export function registerAdminApi(
  scope: FastifyInstance,
  resources: Resources,
  queues: DirsyncQueues,
): void {
  const { db } = resources;
  const deps = (request: FastifyRequest) => operatorDeps(resources, request);

  scope.get<{ Querystring: { limit?: number; offset?: number; q?: string } }>(
    '/api/organizations',
    {
      schema: {
        querystring: limitQuery({
          offset: { type: 'integer', minimum: 0 },
          q: { type: 'string', maxLength: 200 },
        }),
      },
    },
    async (request) => {
      const { limit, offset, q } = request.query;
      const [statuses, poll] = await Promise.all([
        organizationStatuses(db, { limit, offset, search: q?.trim() || undefined }),
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

  scope.post<{ Params: { organizationId: string } }>(
    '/api/organizations/:organizationId/resync',
    { schema: { params: orgParams } },
    async (request, reply) =>
      reply
        .status(202)
        .send(
          await queueResync(resources, queues, deps(request).actor, request.params.organizationId),
        ),
  );
}
