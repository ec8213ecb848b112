// Stores webhook events in the inbox with group commit: the events of concurrent
// requests go into one multi-row `INSERT … ON CONFLICT (event_id) DO NOTHING
// RETURNING` (one statement, so one transaction, committed before it returns), and
// each request learns whether its own event was new.
//
// One bad row must not fail its neighbours: when Postgres rejects the statement for
// its data (a `data` error of db/sqlstate.ts: SQLSTATE class 22 data exception, 23
// integrity constraint, 54 program limit such as JSON nested too deep), nothing of it
// was stored, and its rows are inserted again one by one, so only the row at fault
// fails. Any other failure (a lost connection, a timeout) fails every request of the
// batch: none of them may answer 200.
import type { Database } from '../../db/database.ts';
import { type IncomingEvent, insertEvents } from '../../db/repositories/inbox.repository.ts';
import { dataErrorCode } from '../../db/sqlstate.ts';
import { type BatcherOptions, createBatcher } from './batcher.ts';

/** Resolves once the event is committed: `inserted` is false when it was already stored. */
export type WriteEvent = (event: IncomingEvent) => Promise<{ inserted: boolean }>;

// Measured with `npm run bench:ingest` (README, Benchmarks): two statements in flight
// keep Postgres busy while the next batch gathers; a batch rarely nears the caps. The
// byte cap keeps one statement's parameters (and its memory on both sides) small when
// bodies are large: 4 MiB is four bodies at the default 1 MiB limit.
export const GROUP_COMMIT = {
  maxBatch: 500,
  maxInFlight: 2,
  maxSize: 4 * 1024 * 1024,
  sizeOf: (event: IncomingEvent) => Buffer.byteLength(event.payload),
  what: 'inbox insert',
} satisfies BatcherOptions<IncomingEvent>;

/** An event Postgres refused to store for its content; storing it again cannot succeed. */
export class UnstorableEventError extends Error {
  override name = 'UnstorableEventError';
  /** The SQLSTATE Postgres answered with. */
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

type Outcome = { inserted: boolean } | { error: Error };

export function createInboxWriter(
  db: Database,
  options: BatcherOptions<IncomingEvent> = GROUP_COMMIT,
): WriteEvent {
  const batch = createBatcher(async (events: IncomingEvent[]): Promise<Outcome[]> => {
    // A redelivery can land in the same batch as the first delivery: the first one
    // listed is the one that inserts, the others are duplicates, as if in sequence.
    const first = new Map<string, IncomingEvent>();
    for (const event of events) if (!first.has(event.eventId)) first.set(event.eventId, event);
    const unique = [...first.values()];
    const outcomes = new Map<string, Outcome>();
    try {
      const inserted = await insertEvents(db, unique);
      for (const e of unique) outcomes.set(e.eventId, { inserted: inserted.has(e.eventId) });
    } catch (err) {
      if (dataErrorCode(err) === undefined) throw err;
      // Row by row: each statement stands alone, so each fails or commits on its own.
      for (const e of unique) {
        try {
          outcomes.set(e.eventId, { inserted: (await insertEvents(db, [e])).size === 1 });
        } catch (rowErr) {
          const code = dataErrorCode(rowErr);
          if (code === undefined) throw rowErr;
          const message = rowErr instanceof Error ? rowErr.message : String(rowErr);
          outcomes.set(e.eventId, {
            error: new UnstorableEventError(code, `Postgres refused the event: ${message}`, {
              cause: rowErr,
            }),
          });
        }
      }
    }
    return events.map((event) => {
      const outcome = outcomes.get(event.eventId) as Outcome;
      if ('error' in outcome) return outcome;
      return { inserted: first.get(event.eventId) === event && outcome.inserted };
    });
  }, options);
  return async (event) => {
    const outcome = await batch(event);
    if ('error' in outcome) throw outcome.error;
    return outcome;
  };
}
