// An organization's row as the tests read it (the service itself only creates,
// pauses and resumes organizations, and reads them inside the drain's transaction).
import type { Executor } from '../../db/database.ts';
import type { Organization } from '../../db/tables/organizations.table.ts';

export async function findOrganization(
  db: Executor,
  id: string,
): Promise<Organization | undefined> {
  return db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
}
