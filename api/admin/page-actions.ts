// The status pages' buttons: plain HTML forms posted to
// /admin/organizations/:id/<action>, answered with a redirect (303) to the
// organization's page, which says what happened (?done=) or what failed (?failed=).
// The same operator actions as the JSON API, audited under the operator's name; the
// admin scope's guards apply (credentials, same origin for a browser, read-only).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { pause, replayDeadEventsOf, resume } from '../../common/operator-actions.ts';
import type { Resources } from '../../common/resources.ts';
import { AppError } from '../errors.ts';
import type { DirsyncQueues } from '../queues.ts';
import type { OrganizationAction } from './html.ts';
import { organizationPath } from './html.ts';
import { operatorAction, operatorDeps } from './operator-action.ts';
import { queueResync } from './resync.ts';

type Request = FastifyRequest<{ Params: { organizationId: string; action: OrganizationAction } }>;

const actions = ['pause', 'resume', 'replay-dead', 'resync'] as const;

export function registerPageActions(
  scope: FastifyInstance,
  resources: Resources,
  queues: DirsyncQueues,
): void {
  // A form posts application/x-www-form-urlencoded; its only field (the button) is
  // not needed: the action is in the path.
  scope.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 1024 },
    (_request, _body, done) => done(null, {}),
  );

  async function run(request: Request): Promise<string> {
    const { organizationId, action } = request.params;
    const deps = operatorDeps(resources, request);
    switch (action) {
      case 'pause':
        await operatorAction(() => pause(deps, organizationId));
        return 'pause';
      case 'resume':
        await operatorAction(() => resume(deps, organizationId));
        return 'resume';
      case 'replay-dead': {
        const r = await operatorAction(() => replayDeadEventsOf(deps, organizationId));
        if (r.eventIds.length === 0) return 'replay-dead-none';
        return r.paused ? 'replay-dead-paused' : 'replay-dead';
      }
      case 'resync':
        await queueResync(resources, queues, deps.actor, organizationId);
        return 'resync';
    }
  }

  scope.post(
    '/organizations/:organizationId/:action',
    {
      schema: {
        params: {
          type: 'object',
          required: ['organizationId', 'action'],
          properties: {
            organizationId: { type: 'string', minLength: 1, maxLength: 200 },
            action: { type: 'string', enum: [...actions] },
          },
        },
      },
    },
    async (request: Request, reply: FastifyReply) => {
      const back = organizationPath(request.params.organizationId);
      try {
        const done = await run(request);
        return reply.redirect(`${back}?done=${done}`, 303);
      } catch (err) {
        // An organization that exists but could not take the action: say so on its page.
        if (err instanceof AppError && err.status === 503) {
          return reply.redirect(`${back}?failed=${err.code}`, 303);
        }
        throw err;
      }
    },
  );
}
