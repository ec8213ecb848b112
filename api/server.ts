// The HTTP edge: builds the Fastify apps. Listening is the caller's. Two surfaces:
// public (webhooks, SCIM, health: what WorkOS and identity providers reach) and
// internal (/metrics, /admin and the queue dashboard: operators and Prometheus),
// on two listeners unless ADMIN_PORT=same puts both on one (`all`).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Resources } from '../common/resources.ts';
import type { ApplyInTransaction, ApplyNow } from '../common/scim/apply-now.ts';
import { triggerDrain } from '../common/triggers.ts';
import { registerAdmin } from './admin/index.ts';
import { registerErrorHandling } from './errors.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerMetricsRoute } from './routes/metrics.ts';
import { registerWebhookRoutes } from './routes/webhooks.ts';
import { registerScim } from './scim/index.ts';

// A client's own request id is kept (to follow a request across services) only when
// it is short and plain: it goes into every log line and a response header.
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
}

export type Surface = 'public' | 'internal' | 'all';

export interface ServerOptions {
  /** Which routes: public, internal or both (default). */
  surface?: Surface;
  /**
   * Applies an organization's pending events now (the process wiring passes the
   * worker's drain). Without it SCIM writes trigger the queue and wait for a worker.
   */
  applyNow?: ApplyNow;
  /** Applies a SCIM write's events in the write's own transaction (the worker's code). */
  applyInTransaction?: ApplyInTransaction;
}

export async function buildServer(
  resources: Resources,
  options: ServerOptions = {},
): Promise<FastifyInstance> {
  const { config, logger } = resources;
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps FastifyInstance's default generics.
    loggerInstance: logger.child({ component: 'api' }) as FastifyBaseLogger,
    bodyLimit: config.WEBHOOK_BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: requestId,
    return503OnClosing: true,
    // Fastify's default is 0 (off): a body that never finishes would hold its socket
    // forever. Given to Node at the server's creation (set later, Node ignores it);
    // Node looks for requests past it every connectionsCheckingInterval.
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    http: {
      requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(
        5_000,
        Math.max(100, config.HTTP_REQUEST_TIMEOUT_MS / 4),
      ),
    },
  });
  registerErrorHandling(app);
  // Set first, so every answer carries it, including those Fastify gives before any
  // route runs (413, 415, 404).
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  const surface = options.surface ?? 'all';
  registerHealthRoutes(app, resources);
  if (surface !== 'internal') {
    await registerWebhookRoutes(app, resources);
    await registerScim(
      app,
      resources,
      options.applyNow ??
        (async (organizationId) => {
          await triggerDrain(resources.drainQueue, organizationId);
          return 'busy';
        }),
      options.applyInTransaction,
    );
  }
  if (surface !== 'public') {
    await registerMetricsRoute(app, resources);
    await registerAdmin(app, resources, options.applyNow);
  }
  await app.ready();
  return app;
}
