// Stores webhook events in the inbox with group commit: the events of concurrent
// requests go into one multi-row `INSERT … ON CONFLICT (event_id) DO NOTHING
// RETURNING` (one statement, so one transaction, committed before it returns), and
// each request learns whether its own event was new. A failed statement fails every
// request of its batch, none of which may then answer 200.
import type { Database } from '../../db/database.ts';
import { type IncomingEvent, insertEvents } from '../../db/repositories/inbox.repository.ts';
import { type BatcherOptions, createBatcher } from './batcher.ts';

/** Resolves once the event is committed: `inserted` is false when it was already stored. */
export type WriteEvent = (event: IncomingEvent) => Promise<{ inserted: boolean }>;

// Measured with `npm run bench:ingest` (README, Benchmarks): two statements in flight
// keep Postgres busy while the next batch gathers; a batch rarely nears the cap.
export const GROUP_COMMIT: BatcherOptions = { maxBatch: 500, maxInFlight: 2 };

export function createInboxWriter(db: Database, options = GROUP_COMMIT): WriteEvent {
  return createBatcher(async (events: IncomingEvent[]) => {
    // A redelivery can land in the same batch as the first delivery: the first one
    // listed is the one that inserts, the others are duplicates, as if in sequence.
    const first = new Map<string, IncomingEvent>();
    for (const event of events) if (!first.has(event.eventId)) first.set(event.eventId, event);
    const inserted = await insertEvents(db, [...first.values()]);
    return events.map((event) => ({
      inserted: first.get(event.eventId) === event && inserted.has(event.eventId),
    }));
  }, options);
}
