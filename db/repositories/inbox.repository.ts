// The inbox: every event, stored durably before anything else happens.
import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { InboxRow, InboxSource, InboxStatus } from '../tables/inbox.table.ts';

export interface IncomingEvent {
  eventId: string;
  organizationId: string | null;
  eventType: string;
  occurredAt: Date;
  source: InboxSource;
  /** The wire JSON text, stored as it is. */
  payload: string;
  /** `pending` for directory events to apply, `ignored` for the rest. */
  status: Extract<InboxStatus, 'pending' | 'ignored'>;
}

/**
 * Inserts events, skipping ids already stored (`ON CONFLICT (event_id) DO NOTHING`).
 * Returns the ids that were new.
 */
export async function insertEvents(
  db: Executor,
  events: readonly IncomingEvent[],
): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const rows = await db
    .insertInto('inbox')
    .values(
      events.map((e) => ({
        event_id: e.eventId,
        organization_id: e.organizationId,
        event_type: e.eventType,
        occurred_at: e.occurredAt,
        source: e.source,
        payload: e.payload,
        status: e.status,
        applied_at: e.status === 'ignored' ? new Date() : null,
      })),
    )
    .onConflict((oc) => oc.column('event_id').doNothing())
    .returning('event_id')
    .execute();
  return new Set(rows.map((r) => r.event_id));
}

/** Organizations that have pending events and are not paused. */
export async function organizationsWithPendingEvents(db: Executor): Promise<string[]> {
  const rows = await sql<{ organization_id: string }>`
    select distinct i.organization_id
    from inbox i
    where i.status = 'pending' and i.organization_id is not null
      and not exists (
        select 1 from organizations o where o.id = i.organization_id and o.paused_at is not null
      )
  `.execute(db);
  return rows.rows.map((r) => r.organization_id);
}

export async function findEvent(db: Executor, eventId: string): Promise<InboxRow | undefined> {
  return db.selectFrom('inbox').selectAll().where('event_id', '=', eventId).executeTakeFirst();
}
