// Bull Board at /admin/queues: every dirsync queue, behind the admin scope's
// authentication. Jobs carry ids only (common/queues.ts); the data formatter keeps
// it that way on screen even if a job ever carried more.
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../common/config.ts';
import type { DirsyncQueues } from '../queues.ts';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

const descriptions: Record<keyof DirsyncQueues, string> = {
  drain: 'per-organization triggers: drain the inbox of one organization',
  maintenance: 'sweeper, Events API poller, inbox pruning',
  reconcile: 'reconciliations against the WorkOS directory API',
};

const shownDataKeys = ['organizationId'];

function idsOnly(data: unknown): Record<string, unknown> {
  if (typeof data !== 'object' || data === null) return {};
  return Object.fromEntries(Object.entries(data).filter(([key]) => shownDataKeys.includes(key)));
}

/** Registers the dashboard in `scope`, whose prefix must make it `QUEUE_DASHBOARD_PATH`. */
export async function registerQueueDashboard(
  scope: FastifyInstance,
  queues: DirsyncQueues,
  config: Pick<Config, 'ADMIN_READ_ONLY'>,
): Promise<void> {
  const serverAdapter = new FastifyAdapter().setBasePath(QUEUE_DASHBOARD_PATH);
  const adapters = Object.entries(queues).map(([name, queue]) => {
    const adapter = new BullMQAdapter(queue, {
      readOnlyMode: config.ADMIN_READ_ONLY,
      allowRetries: !config.ADMIN_READ_ONLY,
      description: descriptions[name as keyof DirsyncQueues],
    });
    adapter.setFormatter('data', idsOnly);
    return adapter;
  });
  createBullBoard({
    queues: adapters,
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: config.ADMIN_READ_ONLY ? 'dirsync queues (read-only)' : 'dirsync queues',
        miscLinks: [{ text: 'Status', url: '/admin' }],
        hideDocsLink: true,
      },
    },
  });
  await scope.register(serverAdapter.registerPlugin(), { prefix: '/queues' });
}
