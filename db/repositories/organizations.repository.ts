// Organizations: created when their first event is drained; paused and resumed by
// operators. Their deprovisioning policy is a column the application writes itself.
import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { Organization } from '../tables/organizations.table.ts';

export async function ensureOrganization(db: Executor, id: string): Promise<Organization> {
  await db
    .insertInto('organizations')
    .values({ id })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** Whether an organization is known: it has a row or at least one inbox event. */
export async function organizationExists(db: Executor, id: string): Promise<boolean> {
  const row = await db
    .selectNoFrom((eb) => [
      eb
        .or([
          eb.exists(eb.selectFrom('organizations').select('id').where('id', '=', id)),
          eb.exists(eb.selectFrom('inbox').select('event_id').where('organization_id', '=', id)),
        ])
        .as('known'),
    ])
    .executeTakeFirstOrThrow();
  return Boolean(row.known);
}

/** Pauses draining: the organization's events stay pending until it is resumed. */
export async function pauseOrganization(db: Executor, id: string): Promise<Organization> {
  await ensureOrganization(db, id);
  return db
    .updateTable('organizations')
    .set({ paused_at: sql<Date>`coalesce(paused_at, now())` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function resumeOrganization(db: Executor, id: string): Promise<Organization> {
  await ensureOrganization(db, id);
  return db
    .updateTable('organizations')
    .set({ paused_at: null })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}
