// The Events API poller: reads WorkOS's event stream page after page until caught
// up, stores each page in the inbox and moves the saved cursor past it in the same
// transaction (a crash re-reads at most the page in flight, and the inbox drops the
// duplicates by event id, so nothing is skipped and nothing is applied twice), then
// triggers the drains of the organizations that got new events.
//
// At most one poll runs at a time across every worker process: BullMQ's scheduler
// starts a new job each interval even while a long catch-up is still running, so
// the poll holds a Postgres advisory lock and a poll that finds it taken returns at
// once. The cursor update is also a compare-and-set, so even a lost lock cannot make
// two pollers interleave their pages. The whole poll runs on the lock's connection
// (a pool of one must not wait on itself).
//
// A saved cursor the API no longer accepts (after a long stop its event is past the
// API's retention, and WorkOS answers the `after` with a 4xx) would fail every poll
// forever: the poll alerts (`poll_cursor_expired`), queues a reconciliation of every
// organization to repair what the lost events changed, and starts over from
// `range_start`.
import { DIRECTORY_EVENT_TYPES } from '../../common/events.ts';
import { toInboxEvent } from '../../common/inbox-row.ts';
import type { Logger } from '../../common/logger.ts';
import type { Resources } from '../../common/resources.ts';
import type { Database } from '../../db/database.ts';
import { type IncomingEvent, insertEvents } from '../../db/repositories/inbox.repository.ts';
import {
  advancePollCursor,
  findPollCursor,
  resetPollCursor,
  touchPollCursor,
} from '../../db/repositories/poll-cursors.repository.ts';
import type { PollCursor } from '../../db/tables/poll-cursors.table.ts';
import { withTaskLease } from '../../db/task-leases.ts';
import { queueReconcileAll } from '../reconciler/queue-reconcile.ts';
import {
  createWorkOSClient,
  getListPage,
  type WirePage,
  type WorkOSClient,
} from '../workos/client.ts';
import { type RetryPolicy, WorkOSRequestError, withWorkOSRetry } from '../workos/retry.ts';
import { createDrainTriggers, type DrainTriggers } from './drain-triggers.ts';

/** The cursor row of the WorkOS Events API stream. */
export const EVENTS_CURSOR = 'workos_events';
/** The largest page the Events API serves. */
export const EVENTS_PAGE_SIZE = 100;
const EVENT_TYPES = DIRECTORY_EVENT_TYPES.join(',');
const DAY_MS = 24 * 3600 * 1000;

export interface PollOptions {
  /** The client to use (tests); else one from the configuration. */
  workos?: WorkOSClient;
  retry?: RetryPolicy;
  pageSize?: number;
  /** Stop after this many pages (the next run continues from the cursor). */
  maxPages?: number;
  signal?: AbortSignal;
  onPage?: (progress: PollProgress) => void;
}

export interface PollProgress {
  pages: number;
  events: number;
  inserted: number;
}

export interface PollResult extends PollProgress {
  status: 'disabled' | 'busy' | 'done';
  duplicates: number;
  /** Events stored as dead because they failed validation. */
  invalid: number;
  /** Events that could not be stored at all (no id); logged. */
  dropped: number;
  cursor: string | null;
  newestEventAt: Date | null;
  /** The saved cursor was refused (expired); the poll restarted from range_start. */
  cursorExpired: boolean;
}

export class CursorMovedError extends Error {
  override name = 'CursorMovedError';
}

function lastEventId(data: readonly unknown[]): string | null {
  const last = data.at(-1) as { id?: unknown } | undefined;
  return typeof last?.id === 'string' && last.id !== '' ? last.id : null;
}

type Poller = Pick<Resources, 'config' | 'db' | 'drainQueue' | 'logger' | 'metrics' | 'redis'>;

// The shortest retention WorkOS documents for events (its reference says 30 days,
// a guide 90), less a day of margin.
const CURSOR_MAY_EXPIRE_AFTER_MS = 29 * 24 * 3600 * 1000;

/**
 * WorkOS's answer to an `after` naming an event it no longer has: a validation
 * error (the fake answers 422; the docs name none, so 400 and 404 count too). Only
 * for a cursor old enough to have expired: the same answers to a recent one (a new
 * event type after an upgrade, a proxy misrouting) are failures to retry and look
 * into, not a reason to forget the cursor and replay a month.
 */
function isCursorExpired(error: unknown, saved: PollCursor, now: number): boolean {
  if (!(error instanceof WorkOSRequestError)) return false;
  const status = (error.cause as { status?: unknown } | undefined)?.status;
  if (status !== 400 && status !== 404 && status !== 422) return false;
  const newest = saved.newest_event_at ?? saved.polled_at;
  return now - newest.getTime() > CURSOR_MAY_EXPIRE_AFTER_MS;
}

/** Converts a page to inbox rows; an event without even an id is logged and counted. */
function pageRows(page: WirePage, log: Logger, result: PollResult): IncomingEvent[] {
  const rows: IncomingEvent[] = [];
  for (const [index, raw] of page.data.entries()) {
    const converted = toInboxEvent(raw, 'events_api');
    if (converted.ok) rows.push(converted.row);
    else {
      result.dropped += 1;
      log.error(
        { index, error: converted.error },
        'events api returned an event without an id; skipped',
      );
    }
  }
  return rows;
}

/** What one poll works with, shared by its steps. */
interface PollRun {
  resources: Poller;
  log: Logger;
  workos: WorkOSClient;
  pageSize: number;
  maxPages: number;
  options: PollOptions;
  result: PollResult;
}

function emptyResult(): PollResult {
  return {
    status: 'disabled',
    pages: 0,
    events: 0,
    inserted: 0,
    duplicates: 0,
    invalid: 0,
    dropped: 0,
    cursor: null,
    newestEventAt: null,
    cursorExpired: false,
  };
}

/** One page of events after `after`; without a cursor, from the oldest one kept. */
function fetchPage(run: PollRun, after: string | null): Promise<WirePage> {
  const { config } = run.resources;
  const rangeStart = after
    ? undefined
    : new Date(Date.now() - config.WORKOS_POLL_LOOKBACK_DAYS * DAY_MS).toISOString();
  const query = {
    events: EVENT_TYPES,
    limit: run.pageSize,
    after: after ?? undefined,
    range_start: rangeStart,
  };
  return withWorkOSRetry('GET /events', () => getListPage(run.workos, '/events', query), {
    log: run.log,
    policy: run.options.retry,
    signal: run.options.signal,
  });
}

/** The newest occurred_at of a page's rows. */
function newestOf(rows: readonly IncomingEvent[]): Date | null {
  return rows.reduce<Date | null>(
    (max, r) => (max === null || r.occurredAt > max ? r.occurredAt : max),
    null,
  );
}

/**
 * Stores one page and moves the cursor from `after` to `next` in one transaction,
 * then triggers the drains of the organizations that got new events.
 */
async function storePage(
  run: PollRun,
  db: Database,
  triggers: DrainTriggers,
  rows: IncomingEvent[],
  cursors: { after: string | null; next: string; newestEventAt: Date | null },
): Promise<void> {
  const { result, log } = run;
  const inserted = await db.transaction().execute(async (trx) => {
    const ids = await insertEvents(trx, rows);
    const moved = await advancePollCursor(trx, EVENTS_CURSOR, cursors.after, {
      cursor: cursors.next,
      newestEventAt: cursors.newestEventAt,
    });
    if (!moved) throw new CursorMovedError('the events cursor was moved by another poller');
    return ids;
  });
  const fresh = rows.filter((r) => inserted.has(r.eventId));
  result.inserted += fresh.length;
  result.duplicates += rows.length - fresh.length;
  const { eventsIngested } = run.resources.metrics;
  eventsIngested.inc({ source: 'events_api', result: 'new' }, fresh.length);
  if (rows.length > fresh.length) {
    eventsIngested.inc({ source: 'events_api', result: 'duplicate' }, rows.length - fresh.length);
  }
  for (const r of fresh) {
    if (r.status !== 'dead') continue;
    result.invalid += 1;
    log.error({ eventId: r.eventId, error: r.lastError }, 'invalid event stored as dead');
  }
  triggers.add(
    fresh
      .filter((r) => r.status === 'pending' && r.organizationId !== null)
      .map((r) => r.organizationId as string),
  );
}

/** The saved cursor was refused: alert, queue the repair, forget the cursor. */
async function restartFromRangeStart(
  run: PollRun,
  conn: Database,
  saved: PollCursor,
  err: unknown,
): Promise<void> {
  run.log.error(
    {
      err,
      alert: 'poll_cursor_expired',
      cursor: saved.cursor,
      newestEventAt: saved.newest_event_at,
      lastPolledAt: saved.polled_at,
    },
    'the events api refused the saved cursor (older than it keeps?): events since may be lost; reconciling every organization and restarting from range_start',
  );
  // Queued before the cursor is forgotten: if Redis is down this poll fails and the
  // next one finds the same cursor and tries again, so the repair is never skipped.
  await queueReconcileAll(run.resources);
  if (!(await resetPollCursor(conn, EVENTS_CURSOR, saved.cursor as string))) {
    throw new CursorMovedError('the events cursor was moved by another poller');
  }
  run.result.cursorExpired = true;
}

/**
 * Reads and stores pages from the saved cursor on until caught up (or maxPages),
 * on the lock's connection. Each stored page's drain triggers go out, even when a
 * later page fails.
 */
async function pollPages(run: PollRun, conn: Database): Promise<void> {
  const { result, options } = run;
  const saved = await findPollCursor(conn, EVENTS_CURSOR);
  let after = saved?.cursor ?? null;
  let newest = saved?.newest_event_at ?? null;
  const triggers = createDrainTriggers(run.resources.drainQueue, run.log);
  let fetching = fetchPage(run, after);
  try {
    for (;;) {
      let page: WirePage;
      try {
        page = await fetching;
      } catch (err) {
        // Only the saved cursor can have expired; a page's own cursor is fresh.
        if (!saved?.cursor || after !== saved.cursor || !isCursorExpired(err, saved, Date.now()))
          throw err;
        await restartFromRangeStart(run, conn, saved, err);
        after = null;
        fetching = fetchPage(run, after);
        continue;
      }
      result.pages += 1;
      if (page.data.length === 0) break;
      const rows = pageRows(page, run.log, result);
      const next = page.after ?? lastEventId(page.data);
      if (!next) throw new Error('events api page has no cursor to continue from');
      const more =
        page.data.length >= run.pageSize && result.pages < run.maxPages && !options.signal?.aborted;
      if (more) {
        // Read the next page while this one is stored; only the store moves the cursor.
        fetching = fetchPage(run, next);
        fetching.catch(() => {}); // awaited on the next turn; not unhandled meanwhile
      }
      const newestEventAt = newestOf(rows);
      await storePage(run, conn, triggers, rows, { after, next, newestEventAt });
      after = next;
      if (newestEventAt && (!newest || newestEventAt > newest)) newest = newestEventAt;
      result.events += page.data.length;
      options.onPage?.({ pages: result.pages, events: result.events, inserted: result.inserted });
      if (!more) break;
    }
  } finally {
    await triggers.flush();
  }
  if (result.events === 0) await touchPollCursor(conn, EVENTS_CURSOR);
  result.cursor = after;
  result.newestEventAt = newest;
}

export async function pollEvents(
  resources: Poller,
  options: PollOptions = {},
): Promise<PollResult> {
  const { config, db, logger } = resources;
  const result = emptyResult();
  if (!options.workos && !config.WORKOS_API_KEY) return result;
  const log = logger.child({ component: 'poller' });
  const run: PollRun = {
    resources,
    log,
    workos: options.workos ?? createWorkOSClient(config),
    pageSize: options.pageSize ?? EVENTS_PAGE_SIZE,
    maxPages: options.maxPages ?? Number.POSITIVE_INFINITY,
    options,
    result,
  };
  const lock = await withTaskLease(db, `poll:${EVENTS_CURSOR}`, (conn) => pollPages(run, conn));
  if (!lock.locked) {
    log.debug('another poll is running; this one returns');
    result.status = 'busy';
    return result;
  }
  result.status = 'done';
  if (result.pages > 1 || result.inserted > 0) {
    log.info(
      {
        pages: result.pages,
        events: result.events,
        inserted: result.inserted,
        invalid: result.invalid,
      },
      'polled the events api',
    );
  }
  return result;
}
