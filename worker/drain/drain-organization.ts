// Draining one organization: batch after batch of its pending events, in order,
// until none is left. Transient database errors retry in place; an event that keeps
// failing is isolated (batches of one), counted, and parked as dead past the limit
// so that later events (above all deprovisioning) still go through.
import pRetry from 'p-retry';
import { toError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { Resources } from '../../common/resources.ts';
import { triggerDrain } from '../../common/triggers.ts';
import { applyBatch, type BatchResult } from './apply-batch.ts';
import { EventFailedError, isPermanentError, isTransientError } from './errors.ts';
import { publishRevocations } from './revoke-sessions.ts';

export interface DrainOptions {
  log: Logger;
  /** Stop after this long and re-trigger, so a huge backlog shares the worker. */
  yieldAfterMs?: number;
}

export interface DrainResult {
  applied: number;
  dead: number;
  batches: number;
  paused?: boolean;
  yielded?: boolean;
}

type Drainer = Pick<Resources, 'db' | 'redis' | 'drainQueue' | 'metrics' | 'config'>;

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
      const result = await resources.db
        .transaction()
        .execute((trx) => applyBatch(trx, organizationId, limit, after));
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

/** Counts a failure against the organization's first pending event; dead past the limit. */
async function recordFailure(
  resources: Drainer,
  organizationId: string,
  error: Error,
  log: Logger,
) {
  const permanent = isPermanentError(error);
  const message = `${error.name}: ${error.message}`.slice(0, 2000);
  const row = await resources.db.transaction().execute(async (trx) => {
    const first = await trx
      .selectFrom('inbox')
      .select(['event_id', 'event_type', 'attempts'])
      .where('organization_id', '=', organizationId)
      .where('status', '=', 'pending')
      .orderBy('occurred_at')
      .orderBy('event_id')
      .limit(1)
      .forUpdate()
      .executeTakeFirst();
    if (!first) return undefined;
    const attempts = first.attempts + 1;
    const dead = permanent || attempts >= resources.config.EVENT_MAX_ATTEMPTS;
    await trx
      .updateTable('inbox')
      .set({ attempts, last_error: message, status: dead ? 'dead' : 'pending' })
      .where('event_id', '=', first.event_id)
      .execute();
    return { ...first, attempts, dead };
  });
  if (!row) throw error;
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
    return;
  }
  throw new EventFailedError(row.event_id, error);
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
      const error = toError(caught);
      after = undefined; // isolate from the organization's very first pending event
      if (isTransientError(error) || error.name === 'OrganizationBusyError') throw error;
      if (limit > 1) {
        // Find the event at fault: apply the failed batch's events one at a time.
        log.warn({ err: error }, 'batch failed; isolating the failing event');
        isolating = limit;
        limit = 1;
        continue;
      }
      await recordFailure(resources, organizationId, error, log);
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
    await publishRevocations(resources.redis, organizationId, batch.revoked).catch((err) =>
      // The sessions are revoked in Postgres; the message only speeds up caches.
      log.warn({ err }, 'could not publish session revocations'),
    );
    if (isolating > 0 && --isolating === 0) limit = fullLimit;
    if (performance.now() - started > yieldAfterMs) {
      await triggerDrain(resources.drainQueue, organizationId);
      return { ...result, yielded: true };
    }
  }
}
