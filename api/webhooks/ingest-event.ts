// From an authenticated webhook body to a committed inbox row, then a drain trigger.
// The order is the durability rule (docs/ARCHITECTURE.md: durable before acknowledged): validate, commit, and only
// then trigger; the answer is 200 only once the row is committed. A trigger that
// cannot be enqueued (Redis down or slow) does not fail the delivery: the event is
// stored, and the sweeper re-triggers organizations with pending rows.
//
// Every wait is bounded: the insert (STORE_TIMEOUT_MS, then 503) and the trigger
// (TRIGGER_WAIT_MS from the commit on, queueing included, then 200 without it).
import { withTimeout } from '../../common/errors.ts';
import { toInboxEvent } from '../../common/inbox-row.ts';
import type { Resources } from '../../common/resources.ts';
import { triggerDrains } from '../../common/triggers.ts';
import type { IncomingEvent } from '../../db/repositories/inbox.repository.ts';
import { AppError } from '../errors.ts';
import { createBatcher } from './batcher.ts';
import { createInboxWriter, GROUP_COMMIT, UnstorableEventError } from './inbox-writer.ts';

/** Longest a delivery waits for its insert before answering 503 (the provider retries). */
export const STORE_TIMEOUT_MS = 10_000;
/** Longest a delivery waits for its trigger, queued or sent, before answering 200 without it. */
export const TRIGGER_WAIT_MS = 250;
/** Longest one trigger batch may take before its slot goes to the next batch. */
const TRIGGER_BATCH_TIMEOUT_MS = 250;

const LOST = new Set(['reconnecting', 'close', 'end']);

export interface Ingested {
  eventId: string;
  eventType: string;
  organizationId: string | null;
  status: 'pending' | 'ignored';
  duplicate: boolean;
}

/** Anything with pino's `warn`: the request's logger. */
type Log = { warn(obj: object, msg: string): void };

export type IngestEvent = (body: string, log: Log) => Promise<Ingested>;

type WebhookEvent = IncomingEvent & { status: 'pending' | 'ignored' };

/**
 * The inbox row of a webhook body (the one wire-event conversion, common/inbox-row.ts;
 * the signed body is stored as it is unless something had to be made storable). An invalid
 * event is refused with a 400 AppError, unless it is a readable deprovisioning, which
 * is stored to be applied (fail closed).
 */
export function decodeEvent(body: string): WebhookEvent {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new AppError(400, 'invalid_json', 'the body is not valid JSON');
  }
  const converted = toInboxEvent(json, 'webhook', body);
  if (!converted.ok) throw new AppError(400, 'invalid_event', converted.error);
  const { row } = converted;
  if (row.status === 'dead') {
    throw new AppError(400, 'invalid_event', row.lastError ?? 'invalid event');
  }
  return row as WebhookEvent;
}

export function createIngestor(
  resources: Pick<Resources, 'db' | 'redis' | 'drainQueue' | 'metrics'>,
): IngestEvent {
  const { redis, drainQueue, metrics } = resources;
  const write = createInboxWriter(resources.db, { ...GROUP_COMMIT, timeoutMs: STORE_TIMEOUT_MS });
  // Triggers of concurrent deliveries leave in one round trip, one per organization.
  // Each enters the batch after its own commit, so no trigger can run before the row
  // it is for is visible. One batch at a time: each `addBulk` has a fixed cost (about
  // four jobs' worth), so fewer, larger batches leave more CPU for requests.
  const trigger = createBatcher(
    async (organizationIds: string[]) => {
      // Known lost: do not make deliveries wait for a connection that is not there.
      // (Still connecting at start-up: wait, within the timeout.)
      if (LOST.has(redis.status)) throw new Error(`redis connection is ${redis.status}`);
      await withTimeout(
        triggerDrains(drainQueue, organizationIds),
        TRIGGER_BATCH_TIMEOUT_MS,
        'drain trigger batch',
      );
      return organizationIds.map(() => undefined);
    },
    { maxBatch: 500, maxInFlight: 1, timeoutMs: TRIGGER_WAIT_MS, what: 'drain trigger' },
  );

  return async (body, log) => {
    const event = decodeEvent(body);
    let inserted: boolean;
    try {
      ({ inserted } = await write(event));
    } catch (err) {
      if (err instanceof UnstorableEventError) {
        throw new AppError(400, 'invalid_event', err.message, { cause: err });
      }
      throw new AppError(503, 'unavailable', 'the event could not be stored; retry later', {
        cause: err,
      });
    }
    metrics.eventsIngested.inc({ source: 'webhook', result: inserted ? 'new' : 'duplicate' });
    // A redelivered directory event is triggered again (BullMQ deduplicates): its first
    // delivery may have been committed by a process that died before triggering.
    if (event.status === 'pending' && event.organizationId) {
      try {
        await trigger(event.organizationId);
      } catch (err) {
        log.warn(
          { err, orgId: event.organizationId, eventId: event.eventId },
          'drain trigger not enqueued; the sweeper will re-trigger',
        );
      }
    }
    return {
      eventId: event.eventId,
      eventType: event.eventType,
      organizationId: event.organizationId,
      status: event.status,
      duplicate: !inserted,
    };
  };
}
