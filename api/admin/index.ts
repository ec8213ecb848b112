// The operator surface under /admin: the status pages (with their action buttons),
// the JSON API and the queue dashboard, all behind ADMIN_TOKENS / ADMIN_TOKEN.
// Without one none of it is registered (404) and start-up says so; with ADMIN_READ_ONLY every change is refused with 403. A
// change made with basic auth (a browser) must come from this origin, and no
// admin page may be framed.
import type { FastifyInstance } from 'fastify';
import { operatorCredentials } from '../../common/config.ts';
import type { Resources } from '../../common/resources.ts';
import type { ApplyNow } from '../../common/scim/apply-now.ts';
import { openQueues } from '../queues.ts';
import { denyFraming, refuseChanges, refuseCrossSiteChanges, requireAdminToken } from './auth.ts';
import { registerOrganizationPage } from './organization-page.ts';
import { registerPageActions } from './page-actions.ts';
import { registerQueueDashboard } from './queue-dashboard.ts';
import { registerAdminApi } from './routes.ts';
import { registerScimAdminApi } from './scim-routes.ts';
import { registerStatusPage } from './status-page.ts';

export async function registerAdmin(
  app: FastifyInstance,
  resources: Resources,
  applyNow?: ApplyNow,
): Promise<void> {
  const { config, logger } = resources;
  const credentials = operatorCredentials(config);
  if (credentials.length === 0) {
    logger.warn(
      'neither ADMIN_TOKENS nor ADMIN_TOKEN is set: the admin API, status page and queue dashboard are off',
    );
    return;
  }
  const queues = openQueues(app, resources);
  await app.register(
    async (scope) => {
      scope.addHook('onRequest', denyFraming());
      scope.addHook('onRequest', requireAdminToken(credentials));
      scope.addHook('onRequest', refuseCrossSiteChanges());
      // After authentication (hooks run in order) and before any body is parsed.
      if (config.ADMIN_READ_ONLY) scope.addHook('onRequest', refuseChanges());
      registerStatusPage(scope, resources);
      registerOrganizationPage(scope, resources);
      registerPageActions(scope, resources, queues);
      registerAdminApi(scope, resources, queues);
      registerScimAdminApi(scope, resources, applyNow);
      await registerQueueDashboard(scope, queues, config);
    },
    { prefix: '/admin' },
  );
  logger.info(
    { readOnly: config.ADMIN_READ_ONLY, operators: credentials.map((c) => c.name) },
    'admin API, status page and queue dashboard at /admin',
  );
}
