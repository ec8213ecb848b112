// Placeholder until the reconciler lands (issue: Events API polling and reconciliation).
import type { Resources } from '../../common/resources.ts';

export async function reconcileScheduled(
  resources: Resources,
  organizationId?: string,
): Promise<{ organizations: number }> {
  resources.logger.debug({ organizationId }, 'reconciler not built yet');
  return { organizations: 0 };
}
