// The SCIM 2.0 service provider (RFC 7643, RFC 7644) under
// /scim/v2/<directoryId>: bearer authentication per directory, Users, Groups and
// discovery, answers as application/scim+json (requests as application/json too),
// errors as RFC 7644 §3.12 bodies.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../../common/config.ts';
import type { Resources } from '../../common/resources.ts';
import type { ApplyInTransaction, ApplyNow } from '../../common/scim/apply-now.ts';
import { scimBaseUrl } from '../../common/scim/directories.ts';
import { type AuthenticatedDirectory, authenticate, unauthorized } from './auth.ts';
import { registerDiscoveryRoutes } from './discovery.ts';
import { registerScimErrors, SCIM_CONTENT_TYPE, ScimError } from './errors.ts';
import { registerGroupRoutes } from './groups.ts';
import { registerUserRoutes } from './users.ts';

const directories = new WeakMap<FastifyRequest, AuthenticatedDirectory>();

export async function registerScim(
  app: FastifyInstance,
  resources: Pick<Resources, 'db' | 'logger' | 'config'>,
  applyNow: ApplyNow,
  applyInTransaction?: ApplyInTransaction,
): Promise<void> {
  const config: Config = resources.config;
  const deps = {
    db: resources.db,
    applyNow,
    applyInTransaction,
    logger: resources.logger.child({ component: 'scim' }),
  };
  await app.register(
    async (scope) => {
      registerScimErrors(scope);
      scope.addContentTypeParser(
        'application/scim+json',
        { parseAs: 'string' },
        scope.getDefaultJsonParser('error', 'error'),
      );
      scope.addHook('onRequest', async (request, reply) => {
        const directory = await authenticate(resources.db, request);
        if (!directory) return unauthorized(reply);
        directories.set(request, directory);
      });
      // An id Postgres text cannot hold (NUL) or longer than any id made here names
      // nothing: 404 without asking the database.
      scope.addHook('preHandler', async (request) => {
        const id = (request.params as { id?: string }).id;
        if (id !== undefined && (id.length > 255 || id.includes('\u0000'))) {
          throw new ScimError(404, 'no such resource');
        }
      });
      scope.addHook('onSend', async (_request, reply, payload) => {
        const type = reply.getHeader('content-type');
        if (typeof type === 'string' && type.startsWith('application/json'))
          reply.type(SCIM_CONTENT_TYPE);
        return payload;
      });
      const directoryOf = (request: FastifyRequest) => {
        const d = directories.get(request);
        if (!d) throw new Error('SCIM request without an authenticated directory');
        return d;
      };
      const baseOf = (request: FastifyRequest) => scimBaseUrl(config, directoryOf(request).id);
      const s = { deps, directoryOf, baseOf };
      registerUserRoutes(scope, s);
      registerGroupRoutes(scope, s);
      registerDiscoveryRoutes(scope, baseOf);
    },
    { prefix: '/scim/v2/:directoryId' },
  );
}
