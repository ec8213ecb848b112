// Poll cursors: where a reader of the Events API stopped. Moved only in the
// transaction that stores the page it points past, so the inbox and the cursor
// never disagree.
import { sql } from 'kysely';
import type { Executor, Transaction } from '../database.ts';
import type { PollCursor } from '../tables/poll-cursors.table.ts';

export async function findPollCursor(db: Executor, name: string): Promise<PollCursor | undefined> {
  return db.selectFrom('poll_cursors').selectAll().where('name', '=', name).executeTakeFirst();
}

/**
 * Moves the cursor from `expected` to `next`, only if it still is `expected`
 * (compare-and-set): two pollers that both read one page cannot both store it past
 * each other. Returns false when the cursor had moved.
 */
export async function advancePollCursor(
  trx: Transaction,
  name: string,
  expected: string | null,
  next: { cursor: string; newestEventAt: Date | null },
): Promise<boolean> {
  const row = await trx
    .insertInto('poll_cursors')
    .values({
      name,
      cursor: next.cursor,
      newest_event_at: next.newestEventAt,
      polled_at: new Date(),
    })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({
          cursor: next.cursor,
          newest_event_at: sql<Date | null>`greatest(poll_cursors.newest_event_at, excluded.newest_event_at)`,
          polled_at: new Date(),
        })
        .where(sql<boolean>`poll_cursors.cursor is not distinct from ${expected}`),
    )
    .returning('name')
    .executeTakeFirst();
  return row !== undefined;
}

/** Records that a poll found nothing new (the cursor stays). */
export async function touchPollCursor(db: Executor, name: string): Promise<void> {
  await db
    .updateTable('poll_cursors')
    .set({ polled_at: new Date() })
    .where('name', '=', name)
    .execute();
}

/**
 * Forgets a cursor the API no longer accepts (compare-and-set from `expected`), so
 * the next read starts from `range_start`. Returns false when the cursor had moved.
 */
export async function resetPollCursor(
  db: Executor,
  name: string,
  expected: string,
): Promise<boolean> {
  const rows = await db
    .updateTable('poll_cursors')
    .set({ cursor: null, polled_at: new Date() })
    .where('name', '=', name)
    .where('cursor', '=', expected)
    .returning('name')
    .execute();
  return rows.length > 0;
}
