// Bull Board at /admin/queues: every dirsync queue, behind the admin scope's
// authentication. Jobs carry ids only (common/queues.ts); the data formatter keeps
// it that way on screen even if a job ever carried more. Its page is served with
// no third-party request and a way back to /admin (see dashboardPage).
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
  await scope.register(
    async (board) => {
      board.addHook('onSend', async (_request, reply, payload) =>
        typeof payload === 'string' &&
        String(reply.getHeader('content-type') ?? '').startsWith('text/html')
          ? dashboardPage(payload)
          : payload,
      );
      await board.register(serverAdapter.registerPlugin());
    },
    { prefix: '/queues' },
  );
}

// Bull Board's page links IBM Plex from fonts.googleapis.com: offline it fails, and
// every operator's visit is told to Google. Without it the page uses system fonts.
const THIRD_PARTY_STYLESHEET =
  /<link\b[^>]*\bhref="https:\/\/fonts\.(?:googleapis|gstatic)\.com[^>]*>\s*/g;

// Opened as http://user:token@host/admin/queues (a bookmark, a pasted link), the
// document's URL, and so its base URL, carry the credentials (location.href does
// not), and so does every relative URL resolved against it: fetch() refuses those
// ("Request cannot be constructed from a URL that includes credentials"), so the
// board's API calls never start and it shows "Loading" forever. The browser has
// already sent the credentials and keeps them for this origin, so loading the same
// URL without them works.
const DROP_URL_CREDENTIALS = `<script>(function(){var u=new URL(document.URL);if(u.username||u.password){u.username='';u.password='';location.replace(u.href)}})()</script>`;

// Outside React's root, so the board's rendering leaves it alone.
const BACK_TO_STATUS = `<a id="dirsync-status-link" href="/admin" style="position:fixed;left:16px;bottom:44px;z-index:1000;font:500 13px system-ui,sans-serif;color:#0969da;text-decoration:none">&larr; dirsync status</a>`;

/** The board's HTML page as dirsync serves it. */
export function dashboardPage(html: string): string {
  return html
    .replace(THIRD_PARTY_STYLESHEET, '')
    .replace(/<head>/, `<head>${DROP_URL_CREDENTIALS}`)
    .replace(/(<body[^>]*>)/, `$1${BACK_TO_STATUS}`);
}
