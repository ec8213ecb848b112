// Organizations: created when their first event is drained; paused and resumed by
// operators. Their deprovisioning policy is a column the application writes itself.
import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { Organization } from '../tables/organizations.table.ts';

/** The organization's row, made on first use (read first: it exists but once). */
export async function ensureOrganization(db: Executor, id: string): Promise<Organization> {
  const found = await db
    .selectFrom('organizations')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  if (found) return found;
  await db
    .insertInto('organizations')
    .values({ id })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** Records the last event a drain batch looked at. */
export async function markOrganizationApplied(
  db: Executor,
  id: string,
  lastEventId: string,
): Promise<void> {
  await db
    .updateTable('organizations')
    .set({ last_applied_event_id: lastEventId, last_applied_at: new Date() })
    .where('id', '=', id)
    .execute();
}

/** Records a reconciliation's end. */
export async function markOrganizationReconciled(db: Executor, id: string): Promise<void> {
  await db
    .updateTable('organizations')
    .set({ last_reconciled_at: new Date() })
    .where('id', '=', id)
    .execute();
}

/** Organizations that are not paused, least recently reconciled first. */
export async function organizationsToReconcile(db: Executor): Promise<string[]> {
  const rows = await db
    .selectFrom('organizations')
    .select('id')
    .where('paused_at', 'is', null)
    .orderBy(sql`last_reconciled_at asc nulls first`)
    .orderBy('id')
    .execute();
  return rows.map((r) => r.id);
}

export async function findOrganization(
  db: Executor,
  id: string,
): Promise<Organization | undefined> {
  return db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
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
