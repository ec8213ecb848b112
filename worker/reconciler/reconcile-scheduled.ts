// The scheduled reconciliation (WORKOS_RECONCILE_INTERVAL_MS): every organization
// that is not paused, least recently reconciled first, one after another (the
// directory API's rate limit is per directory, and a sweep of every organization
// is not urgent). One organization's failure is logged and the next one goes on.
// A job naming one organization (an operator's resync from the admin API) fails
// with the error instead, so the queue dashboard shows why.

import { toError } from '../../common/errors.ts';
import type { Resources } from '../../common/resources.ts';
import { organizationsToReconcile } from '../../db/repositories/organizations.repository.ts';
import {
  MassDeletionError,
  ReconcileBusyError,
  type ReconcileOptions,
  reconcileOrganization,
} from './reconcile-organization.ts';

export interface ScheduledResult {
  organizations: number;
  events: number;
  failed: number;
}

export async function reconcileScheduled(
  resources: Pick<Resources, 'config' | 'db' | 'drainQueue' | 'logger'>,
  organizationId?: string,
  options: Omit<ReconcileOptions, 'dryRun' | 'force'> = {},
): Promise<ScheduledResult> {
  const result: ScheduledResult = { organizations: 0, events: 0, failed: 0 };
  if (organizationId) {
    const done = await reconcileOrganization(resources, organizationId, options);
    return { organizations: 1, events: done.stored, failed: 0 };
  }
  if (!options.workos && !resources.config.WORKOS_API_KEY) return result;
  const log = resources.logger.child({ component: 'reconciler' });
  for (const id of await organizationsToReconcile(resources.db)) {
    try {
      const done = await reconcileOrganization(resources, id, options);
      result.organizations += 1;
      result.events += done.stored;
    } catch (caught) {
      const err = toError(caught);
      if (err instanceof ReconcileBusyError) continue;
      result.failed += 1;
      if (err instanceof MassDeletionError) {
        log.error({ err, orgId: id, alert: 'reconcile_mass_deletion' }, 'reconciliation refused');
      } else {
        log.warn({ err, orgId: id }, 'reconciliation failed; the next run retries');
      }
    }
  }
  return result;
}
