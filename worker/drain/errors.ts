// Drain errors, and which failures are worth retrying.
import { toError } from '../../common/errors.ts';
import { databaseErrorKind } from '../../db/sqlstate.ts';

/** Another drain holds this organization's advisory lock; try again later. */
export class OrganizationBusyError extends Error {
  override name = 'OrganizationBusyError';
  constructor(organizationId: string) {
    super(`organization ${organizationId} is being drained by another worker`);
  }
}

/**
 * A drain transaction failed after reading these pending events (in order): when it
 * held one event, that event is the one at fault.
 */
export class BatchFailedError extends Error {
  override name = 'BatchFailedError';
  readonly eventIds: readonly string[];
  constructor(eventIds: readonly string[], cause: Error) {
    super(`a batch of ${eventIds.length} events failed`, { cause });
    this.eventIds = eventIds;
  }
}

/** An event failed and has attempts left: the drain stops here and retries later. */
export class EventFailedError extends Error {
  override name = 'EventFailedError';
  readonly eventId: string;
  constructor(eventId: string, cause: Error) {
    super(`event ${eventId} failed: ${cause.message}`, { cause });
    this.eventId = eventId;
  }
}

// How the drain treats a failure. Database errors are classified by db/sqlstate.ts,
// the table the webhook edge uses too:
// - transient (a lost connection, a deadlock, the server restarting): the batch is
//   retried in place, and no event is charged before the drain job's last attempt;
// - permanent: the event can never be applied, so it is parked as dead at once. A
//   database `data` error (classes 22, 23, 54), or a RangeError thrown while the
//   event is applied: the call stack overflowed (ingestion caps nesting, but a row
//   stored before that may not be), a string or array too long, an invalid date.
//   No retry changes its payload;
// - anything else (a bug, a missing permission): counted against the event and
//   retried until EVENT_MAX_ATTEMPTS, since a fix or a deploy may make it succeed.

/** Retried in place; charged to no event before the job's last attempt. */
export function isTransientError(value: unknown): boolean {
  return databaseErrorKind(value) === 'transient';
}

/** No retry can fix it: the event at fault is parked as dead at once. */
export function isPermanentError(value: unknown): boolean {
  const kind = databaseErrorKind(value);
  if (kind !== 'other') return kind === 'data';
  for (let err = value, depth = 0; err instanceof Error && depth < 10; depth += 1) {
    if (err instanceof RangeError) return true;
    err = err.cause;
  }
  return false;
}

/** The error a drain failed with, without the BatchFailedError around it. */
export function rootOfBatchError(error: Error): Error {
  return error instanceof BatchFailedError ? toError(error.cause) : error;
}
