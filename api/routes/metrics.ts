// Placeholder until the operator surface lands (issue: operator surface).
import type { FastifyInstance } from 'fastify';
import type { Resources } from '../../common/resources.ts';

export async function registerMetricsRoute(
  _app: FastifyInstance,
  _resources: Resources,
): Promise<void> {}
