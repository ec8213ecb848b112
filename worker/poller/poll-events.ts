// Placeholder until the Events API poller lands (issue: Events API polling).
import type { Resources } from '../../common/resources.ts';

export async function pollEvents(resources: Resources): Promise<{ pages: number }> {
  resources.logger.debug('events api poller not built yet');
  return { pages: 0 };
}
