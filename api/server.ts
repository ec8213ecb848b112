// The HTTP edge: builds the Fastify app with every route. Listening is the caller's.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Resources } from '../common/resources.ts';
import { registerAdmin } from './admin/index.ts';
import { registerErrorHandling } from './errors.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerMetricsRoute } from './routes/metrics.ts';
import { registerWebhookRoutes } from './routes/webhooks.ts';

export async function buildServer(resources: Resources): Promise<FastifyInstance> {
  const { config, logger } = resources;
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps FastifyInstance's default generics.
    loggerInstance: logger.child({ component: 'api' }) as FastifyBaseLogger,
    bodyLimit: config.WEBHOOK_BODY_LIMIT_BYTES,
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
  });
  registerErrorHandling(app);
  registerHealthRoutes(app, resources);
  await registerWebhookRoutes(app, resources);
  await registerMetricsRoute(app, resources);
  await registerAdmin(app, resources);
  await app.ready();
  return app;
}
