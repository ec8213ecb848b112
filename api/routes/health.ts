// Liveness and readiness. /healthz: the process answers. /readyz: Postgres and Redis
// both answer; otherwise 503 with a body naming what is unreachable.
import type { FastifyInstance } from 'fastify';
import { checkDependencies, type Resources } from '../../common/resources.ts';

export function registerHealthRoutes(app: FastifyInstance, resources: Resources): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const checks = await checkDependencies(resources);
    const ready = checks.postgres.ok && checks.redis.ok;
    return reply
      .status(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'unavailable', checks });
  });
}
