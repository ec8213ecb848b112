// The inbox: every event, stored durably before anything else happens.
import { sql } from 'kysely';
import type { Alteration } from '../../common/storable.ts';
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
  /**
   * `pending` for directory events to apply, `ignored` for the rest, `dead` for an
   * event that arrived invalid (kept with its `lastError` for operators).
   */
  status: Extract<InboxStatus, 'pending' | 'ignored' | 'dead'>;
  lastError?: string;
  /** What was replaced to make the event storable (common/storable.ts). */
  alterations?: Alteration[];
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
        last_error: e.lastError ?? null,
        alterations: e.alterations ? JSON.stringify(e.alterations) : null,
        applied_at: e.status === 'ignored' ? new Date() : null,
      })),
    )
    .onConflict((oc) => oc.column('event_id').doNothing())
    .returning('event_id')
    .execute();
  return new Set(rows.map((r) => r.event_id));
}

/** Keeps on an event what had to be changed to store or apply it (fail closed). */
export async function recordAlterations(
  db: Executor,
  eventId: string,
  alterations: readonly unknown[],
): Promise<void> {
  await db
    .updateTable('inbox')
    .set({ alterations: JSON.stringify(alterations) })
    .where('event_id', '=', eventId)
    .execute();
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

/**
 * Puts an event back in the queue of its organization: pending again, attempts
 * reset. It takes its place in order by its own time; applying an event is
 * idempotent, so replaying one already applied changes nothing. Returns the row,
 * or undefined when no such event exists.
 */
export async function replayEvent(db: Executor, eventId: string): Promise<InboxRow | undefined> {
  return db
    .updateTable('inbox')
    .set({ status: 'pending', attempts: 0, last_error: null, applied_at: null, source: 'replay' })
    .where('event_id', '=', eventId)
    .where('organization_id', 'is not', null)
    .where('status', '!=', 'ignored')
    .returningAll()
    .executeTakeFirst();
}

/** Replays every dead event of an organization; returns their ids in order. */
export async function replayDeadEvents(db: Executor, organizationId: string): Promise<string[]> {
  const rows = await db
    .updateTable('inbox')
    .set({ status: 'pending', attempts: 0, last_error: null, applied_at: null, source: 'replay' })
    .where('organization_id', '=', organizationId)
    .where('status', '=', 'dead')
    .returning(['event_id', 'occurred_at'])
    .execute();
  return rows
    .sort(
      (a, b) =>
        a.occurred_at.getTime() - b.occurred_at.getTime() || (a.event_id < b.event_id ? -1 : 1),
    )
    .map((r) => r.event_id);
}

export interface DeadEvent {
  event_id: string;
  organization_id: string | null;
  event_type: string;
  occurred_at: Date;
  attempts: number;
  last_error: string | null;
  received_at: Date;
}

/** Dead events, oldest first, optionally of one organization. Never the payload. */
export async function listDeadEvents(
  db: Executor,
  options: { organizationId?: string; limit?: number } = {},
): Promise<DeadEvent[]> {
  let query = db
    .selectFrom('inbox')
    .select([
      'event_id',
      'organization_id',
      'event_type',
      'occurred_at',
      'attempts',
      'last_error',
      'received_at',
    ])
    .where('status', '=', 'dead');
  if (options.organizationId) query = query.where('organization_id', '=', options.organizationId);
  return query
    .orderBy('occurred_at')
    .orderBy('event_id')
    .limit(options.limit ?? 100)
    .execute();
}

/**
 * Deletes applied and ignored rows received more than `days` ago, `batch` at a time
 * (short transactions), at most `max` in one call. Pending and dead rows stay: they
 * are work not done. Returns how many were deleted.
 */
export async function pruneInbox(
  db: Executor,
  days: number,
  options: { batch?: number; max?: number } = {},
): Promise<number> {
  const batch = options.batch ?? 5_000;
  const max = options.max ?? 100_000;
  let deleted = 0;
  while (deleted < max) {
    const result = await sql`
      delete from inbox where event_id in (
        select event_id from inbox
        where status in ('applied', 'ignored')
          and received_at < now() - make_interval(days => ${days}::int)
        limit ${Math.min(batch, max - deleted)}
      )
    `.execute(db);
    const n = Number(result.numAffectedRows ?? 0);
    deleted += n;
    if (n === 0) break;
  }
  return deleted;
}
