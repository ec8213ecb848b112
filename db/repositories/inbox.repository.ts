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
   * event that arrived invalid (kept with its `lastError` for operators), `applied`
   * for an event applied in the transaction that stores it (a SCIM write).
   */
  status: InboxStatus;
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
        applied_at: e.status === 'ignored' || e.status === 'applied' ? new Date() : null,
        attempts: e.status === 'applied' ? 1 : 0,
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
    from ${sql.table('inbox')} i
    where i.status = 'pending' and i.organization_id is not null
      and not exists (
        select 1 from ${sql.table('organizations')} o where o.id = i.organization_id and o.paused_at is not null
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

/** A pending event as the drain reads it. */
export interface PendingEvent {
  event_id: string;
  event_type: string;
  occurred_at: Date;
  received_at: Date;
  payload: unknown;
  /** What was replaced to store it (common/storable.ts), or null. */
  alterations: unknown[] | null;
}

/**
 * The next `limit` pending events of an organization, in order (time, then id),
 * after `after` when given.
 */
export async function pendingEvents(
  db: Executor,
  organizationId: string,
  limit: number,
  after?: { occurredAt: Date; eventId: string },
): Promise<PendingEvent[]> {
  return db
    .selectFrom('inbox')
    .select(['event_id', 'event_type', 'occurred_at', 'received_at', 'payload', 'alterations'])
    .where('organization_id', '=', organizationId)
    .where('status', '=', 'pending')
    .$if(after !== undefined, (qb) =>
      qb.where((eb) =>
        eb(
          eb.refTuple('occurred_at', 'event_id'),
          '>',
          eb.tuple(after!.occurredAt, after!.eventId),
        ),
      ),
    )
    .orderBy('occurred_at')
    .orderBy('event_id')
    .limit(limit)
    .execute();
}

/** Marks events done: `ignored` for those listed in `ignored`, `applied` for the rest. */
export async function markEventsDone(
  db: Executor,
  eventIds: readonly string[],
  ignored: readonly string[],
): Promise<void> {
  if (eventIds.length === 0) return;
  await sql`
    update inbox
    set status = case when event_id = any(${ignored}::text[]) then 'ignored' else 'applied' end,
        applied_at = now(), attempts = attempts + 1, last_error = null
    where event_id = any(${eventIds}::text[])
  `.execute(db);
}

/** Parks an event as dead with the error that makes it unusable (one more attempt). */
export async function markEventDead(db: Executor, eventId: string, error: string): Promise<void> {
  await db
    .updateTable('inbox')
    .set((eb) => ({ status: 'dead', attempts: eb('attempts', '+', 1), last_error: error }))
    .where('event_id', '=', eventId)
    .execute();
}

/** An event of this organization, if it is still pending. */
export async function findPendingEvent(
  db: Executor,
  organizationId: string,
  eventId: string,
): Promise<Pick<InboxRow, 'event_id' | 'event_type' | 'attempts'> | undefined> {
  return db
    .selectFrom('inbox')
    .select(['event_id', 'event_type', 'attempts'])
    .where('event_id', '=', eventId)
    .where('organization_id', '=', organizationId)
    .where('status', '=', 'pending')
    .executeTakeFirst();
}

/** Records a failed attempt: its count, its error, and whether the event is now dead. */
export async function recordEventFailure(
  db: Executor,
  eventId: string,
  failure: { attempts: number; error: string; dead: boolean },
): Promise<void> {
  await db
    .updateTable('inbox')
    .set({
      attempts: failure.attempts,
      last_error: failure.error,
      status: failure.dead ? 'dead' : 'pending',
    })
    .where('event_id', '=', eventId)
    .execute();
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
      delete from ${sql.table('inbox')} where event_id in (
        select event_id from ${sql.table('inbox')}
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
