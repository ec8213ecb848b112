// Placeholder: the ordered drain lands with the ordered-apply issue.
import type { Logger } from '../../common/logger.ts';
import type { Resources } from '../../common/resources.ts';

export interface DrainOptions {
  log: Logger;
  attemptsMade: number;
}

export async function drainOrganization(
  _resources: Resources,
  organizationId: string,
  options: DrainOptions,
): Promise<{ applied: number }> {
  options.log.debug({ organizationId }, 'drain not built yet');
  return { applied: 0 };
}
