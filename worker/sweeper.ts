// The sweeper re-triggers every organization with pending inbox rows. It covers a
// trigger lost after the commit (Redis down at that moment, or Redis losing its data):
// Postgres is the source of truth, Redis only says "look".

import type { Resources } from '../common/resources.ts';
import { triggerDrains } from '../common/triggers.ts';
import { organizationsWithPendingEvents } from '../db/repositories/inbox.repository.ts';

export async function sweep(
  resources: Pick<Resources, 'db' | 'drainQueue' | 'logger'>,
): Promise<{ triggered: number }> {
  const organizations = await organizationsWithPendingEvents(resources.db);
  await triggerDrains(resources.drainQueue, organizations);
  if (organizations.length > 0) {
    resources.logger.debug({ organizations: organizations.length }, 'sweeper re-triggered drains');
  }
  return { triggered: organizations.length };
}
