// SCIM directories in the admin JSON API, the same actions as `dirsync scim …`:
//   POST   /admin/api/scim/directories                  {organizationId, name?} -> 201
//   GET    /admin/api/scim/directories[?organization=]
//   POST   /admin/api/scim/directories/:id/rotate-token
//   DELETE /admin/api/scim/directories/:id              (everyone in it deprovisioned)
// Authentication and the read-only guard are the enclosing scope's.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OperatorError } from '../../common/operator-actions.ts';
import type { Resources } from '../../common/resources.ts';
import type { ApplyNow } from '../../common/scim/apply-now.ts';
import {
  createScimDirectory,
  deleteScimDirectory,
  listScimDirectorySummaries,
  rotateScimDirectoryToken,
} from '../../common/scim/directories.ts';
import { triggerDrain } from '../../common/triggers.ts';
import { AppError } from '../errors.ts';
import { operatorOf } from './auth.ts';

const directoryParams = {
  type: 'object',
  required: ['directoryId'],
  properties: { directoryId: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

async function known<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof OperatorError) throw new AppError(404, 'not_found', err.message);
    throw err;
  }
}

export function registerScimAdminApi(
  scope: FastifyInstance,
  resources: Resources,
  applyNow: ApplyNow | undefined,
): void {
  const { db, config } = resources;
  // Applied at once where the process can (the deletion's revocations before the
  // answer); otherwise, or when another process holds the drain, the queue does it.
  const apply = async (organizationId: string) => {
    const outcome = applyNow ? await applyNow(organizationId) : 'busy';
    if (outcome !== 'done') {
      await triggerDrain(resources.drainQueue, organizationId).catch((err: unknown) =>
        resources.logger.warn(
          { err, orgId: organizationId },
          'drain trigger failed; the sweeper will retry',
        ),
      );
    }
  };
  /** Acting as the request's operator (the audit log names them). */
  const deps = (request: FastifyRequest) => ({
    db,
    config,
    apply,
    actor: { name: operatorOf(request), via: 'admin_api' as const },
  });

  scope.post<{ Body: { organizationId: string; name?: string } }>(
    '/api/scim/directories',
    {
      schema: {
        body: {
          type: 'object',
          required: ['organizationId'],
          additionalProperties: false,
          properties: {
            organizationId: { type: 'string', minLength: 1, maxLength: 200 },
            name: { type: 'string', maxLength: 200 },
          },
        },
      },
    },
    async (request, reply) => {
      const created = await createScimDirectory(deps(request), request.body);
      return reply.status(201).send(created);
    },
  );

  scope.get<{ Querystring: { organization?: string } }>(
    '/api/scim/directories',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { organization: { type: 'string', minLength: 1, maxLength: 200 } },
        },
      },
    },
    async (request) => ({
      directories: await listScimDirectorySummaries({ db, config }, request.query.organization),
    }),
  );

  scope.post<{ Params: { directoryId: string } }>(
    '/api/scim/directories/:directoryId/rotate-token',
    { schema: { params: directoryParams } },
    async (request) =>
      known(() => rotateScimDirectoryToken(deps(request), request.params.directoryId)),
  );

  scope.delete<{ Params: { directoryId: string } }>(
    '/api/scim/directories/:directoryId',
    { schema: { params: directoryParams } },
    async (request) => known(() => deleteScimDirectory(deps(request), request.params.directoryId)),
  );
}
