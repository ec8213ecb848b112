// GET /metrics in the Prometheus text format. Unauthenticated, as scrape targets
// usually are: the series carry counts, durations and organization ids only, never
// personal data. Keep the port off the public internet (or behind the ingress's
// auth) if organization ids are not to be seen.
import type { FastifyInstance } from 'fastify';
import type { Resources } from '../../common/resources.ts';
import { openQueues } from '../queues.ts';
import { registerScrapeMetrics } from '../scrape-metrics.ts';

export async function registerMetricsRoute(
  app: FastifyInstance,
  resources: Resources,
): Promise<void> {
  const { registry } = resources.metrics;
  registerScrapeMetrics(resources, openQueues(app, resources));
  app.get('/metrics', async (_request, reply) => {
    const body = await registry.metrics();
    return reply.type(registry.contentType).header('cache-control', 'no-store').send(body);
  });
}
