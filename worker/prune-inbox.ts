// Inbox retention: applied and ignored rows hold whole payloads (personal data
// included) long after they matter; past INBOX_RETENTION_DAYS they are deleted.
// Pending and dead rows are never touched. The audit log (ids only) stays.
import type { Resources } from '../common/resources.ts';
import { pruneInbox } from '../db/repositories/inbox.repository.ts';

export async function pruneOldEvents(
  resources: Pick<Resources, 'db' | 'config' | 'logger'>,
): Promise<{ deleted: number }> {
  const days = resources.config.INBOX_RETENTION_DAYS;
  if (days === 0) return { deleted: 0 };
  const deleted = await pruneInbox(resources.db, days);
  if (deleted > 0) resources.logger.info({ deleted, days }, 'pruned old inbox rows');
  return { deleted };
}
