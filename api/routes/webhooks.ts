// Placeholder until webhook ingestion lands (issue: webhook ingestion).
import type { FastifyInstance } from 'fastify';
import type { Resources } from '../../common/resources.ts';

export async function registerWebhookRoutes(
  _app: FastifyInstance,
  _resources: Resources,
): Promise<void> {}
