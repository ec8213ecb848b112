// Draining one organization: batch after batch of its pending events, in order,
// until none is left. Transient database errors retry in place; an event that keeps
// failing is isolated (batches of one), counted, and parked as dead past the limit
// so that later events (above all deprovisioning) still go through.
import pRetry from 'p-retry';
import { toError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { Resources } from '../../common/resources.ts';
import { triggerDrain } from '../../common/triggers.ts';
import { findPendingEvent, recordEventFailure } from '../../db/repositories/inbox.repository.ts';
import {
  appendRevocations,
  type OutboxEntry,
} from '../../db/repositories/revocation-outbox.repository.ts';
import { applyBatch, type BatchResult, lockOrganization } from './apply-batch.ts';
import {
  BatchFailedError,
  EventFailedError,
  isPermanentError,
  isTransientError,
  OrganizationBusyError,
  rootOfBatchError,
} from './errors.ts';
import { logDeprovisionings } from './log-deprovisionings.ts';

export interface DrainOptions {
  log: Logger;
  /** Stop after this long and re-trigger, so a huge backlog shares the worker. */
  yieldAfterMs?: number;
  /**
   * The drain job's last attempt: transient errors are then charged to the event at
   * fault like any other failure, so an event that keeps breaking its connection
   * cannot block the organization forever (before that, a Postgres that is down or
   * restarting must not charge innocent events).
   */
  lastAttempt?: boolean;
  /** Called after a batch that revoked sessions committed: wakes the outbox relay. */
  revocationsCommitted?: () => void;
}

export interface DrainResult {
  applied: number;
  dead: number;
  batches: number;
  paused?: boolean;
  yielded?: boolean;
}

type Drainer = Pick<Resources, 'db' | 'redis' | 'drainQueue' | 'metrics' | 'config'>;

export function outboxEntries(
  organizationId: string,
  batch: Extract<BatchResult, { kind: 'done' }>,
): OutboxEntry[] {
  return batch.revoked.map((r) => ({
    organizationId,
    userId: r.userId,
    sessionIds: r.sessionIds,
    reason: r.reason,
    eventId: r.eventId,
    eventReceivedAt: batch.receivedAt.get(r.eventId) ?? null,
  }));
}

async function runBatch(
  resources: Drainer,
  organizationId: string,
  limit: number,
  after: Parameters<typeof applyBatch>[3],
  log: Logger,
): Promise<BatchResult> {
  return pRetry(
    async () => {
      const end = resources.metrics.applyLatency.startTimer();
      const result = await resources.db.transaction().execute(async (trx) => {
        const batch = await applyBatch(trx, organizationId, limit, after);
        // The revocation messages, last in the revoking transaction (the outbox's
        // writer lock is held from this insert to the commit).
        if (batch.kind === 'done')
          await appendRevocations(trx, outboxEntries(organizationId, batch));
        return batch;
      });
      end();
      return result;
    },
    {
      retries: 5,
      minTimeout: 50,
      maxTimeout: 2_000,
      randomize: true,
      shouldRetry: ({ error }) => isTransientError(error),
      onFailedAttempt: ({ error, attemptNumber }) => {
        if (isTransientError(error))
          log.warn({ err: error, attemptNumber }, 'transient database error; retrying');
      },
    },
  );
}

/**
 * Counts a failure against the event that failed alone in its batch; dead past the
 * limit (at once when no retry can fix it). Under the organization's advisory lock,
 * and only while the event is still pending, so a concurrent drain or replay is
 * never charged for it.
 */
async function recordFailure(
  resources: Drainer,
  organizationId: string,
  eventId: string,
  error: Error,
  log: Logger,
) {
  const permanent = isPermanentError(error);
  const message = `${error.name}: ${error.message}`.slice(0, 2000);
  const row = await resources.db.transaction().execute(async (trx) => {
    await lockOrganization(trx, organizationId);
    const event = await findPendingEvent(trx, organizationId, eventId);
    if (!event) return undefined;
    const attempts = event.attempts + 1;
    const dead = permanent || attempts >= resources.config.EVENT_MAX_ATTEMPTS;
    await recordEventFailure(trx, event.event_id, { attempts, error: message, dead });
    return { ...event, attempts, dead };
  });
  if (!row) return; // applied or replayed meanwhile: the next pass sees it as it is now
  if (row.dead) {
    resources.metrics.deadEvents.inc({ type: row.event_type });
    resources.metrics.eventsApplied.inc({ type: row.event_type, outcome: 'dead' });
    log.error(
      {
        alert: 'dead_event',
        eventId: row.event_id,
        eventType: row.event_type,
        attempts: row.attempts,
        err: error,
      },
      'event parked as dead; the organization moves on',
    );
    return 'dead';
  }
  throw new EventFailedError(row.event_id, error);
}

/**
 * After a batch committed: its outcomes counted (dead events alerted), its
 * revocations measured (their messages are in the outbox, for the relay).
 */
export function reportBatch(
  resources: Pick<Resources, 'metrics'>,
  organizationId: string,
  batch: Extract<BatchResult, { kind: 'done' }>,
  result: DrainResult,
  log: Logger,
): void {
  const committedAt = Date.now();
  for (const event of batch.events) {
    const outcome = batch.outcomes.get(event.event_id) ?? 'applied';
    resources.metrics.eventsApplied.inc({ type: event.event_type, outcome });
    if (outcome === 'dead') {
      result.dead += 1;
      resources.metrics.deadEvents.inc({ type: event.event_type });
      log.error(
        { alert: 'dead_event', eventId: event.event_id, eventType: event.event_type },
        'invalid event parked as dead',
      );
    } else {
      result.applied += 1;
    }
  }
  for (const revoked of batch.revoked) {
    const receivedAt = batch.receivedAt.get(revoked.eventId);
    if (receivedAt)
      resources.metrics.revocationLatency.observe((committedAt - receivedAt.getTime()) / 1000);
    resources.metrics.sessionsRevoked.inc(revoked.sessionIds.length);
  }
  logDeprovisionings(log, organizationId, batch.deprovisioned, batch.revoked);
}

export async function drainOrganization(
  resources: Drainer,
  organizationId: string,
  options: DrainOptions,
): Promise<DrainResult> {
  const { log } = options;
  const started = performance.now();
  const yieldAfterMs = options.yieldAfterMs ?? 5_000;
  const result: DrainResult = { applied: 0, dead: 0, batches: 0 };
  const fullLimit = resources.config.DRAIN_BATCH_SIZE;
  let limit = fullLimit;
  // While isolating a failure: how many more events to apply one at a time.
  let isolating = 0;
  let after: Parameters<typeof applyBatch>[3];

  for (;;) {
    let batch: BatchResult;
    try {
      batch = await runBatch(resources, organizationId, limit, after, log);
    } catch (caught) {
      const failure = toError(caught);
      const error = rootOfBatchError(failure);
      after = undefined; // isolate from the organization's very first pending event
      const eventIds = failure instanceof BatchFailedError ? failure.eventIds : [];
      // Before any event was read (the lock, the organization): nothing to charge.
      if (eventIds.length === 0 || error instanceof OrganizationBusyError) throw error;
      if (isTransientError(error) && !options.lastAttempt) throw error;
      if (eventIds.length > 1) {
        // Find the event at fault: apply the failed batch's events one at a time. A
        // database that is down fails the single batch too and ends this drain below.
        log.warn({ err: error }, 'batch failed; isolating the failing event');
        isolating = eventIds.length;
        limit = 1;
        continue;
      }
      // On the job's last attempt a transient error is counted too; while Postgres
      // is really down, counting fails as well and nothing is charged.
      if ((await recordFailure(resources, organizationId, eventIds[0]!, error, log)) === 'dead')
        result.dead += 1;
      isolating = 0;
      limit = fullLimit;
      continue;
    }
    if (batch.kind === 'paused') return { ...result, paused: true };
    if (batch.kind === 'empty') {
      if (after === undefined) return result;
      after = undefined; // a last pass from the start, for events that arrived late
      continue;
    }

    result.batches += 1;
    const last = batch.events[batch.events.length - 1]!;
    after = { occurredAt: last.occurred_at, eventId: last.event_id };
    reportBatch(resources, organizationId, batch, result, log);
    if (batch.revoked.length > 0) options.revocationsCommitted?.();
    if (isolating > 0 && --isolating === 0) limit = fullLimit;
    if (performance.now() - started > yieldAfterMs) {
      await triggerDrain(resources.drainQueue, organizationId);
      return { ...result, yielded: true };
    }
  }
}
