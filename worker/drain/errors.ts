// Drain errors, and which database errors are worth retrying in place.
import { toError } from '../../common/errors.ts';

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

// Postgres SQLSTATEs that say "try again", not "this input is wrong".
// https://www.postgresql.org/docs/current/errcodes-appendix.html
const transientSqlStates: Record<string, string> = {
  '40001': 'serialization_failure',
  '40P01': 'deadlock_detected',
  '55P03': 'lock_not_available',
  '57P01': 'admin_shutdown (server restarting)',
  '57P02': 'crash_shutdown',
  '57P03': 'cannot_connect_now (server starting)',
  '53300': 'too_many_connections',
  '08000': 'connection_exception',
  '08003': 'connection_does_not_exist',
  '08006': 'connection_failure',
  '08001': 'sqlclient_unable_to_establish_sqlconnection',
  '08004': 'sqlserver_rejected_establishment_of_sqlconnection',
};

// Node-level errors of a connection lost or refused.
const transientNodeCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

const transientMessages = [
  'Connection terminated',
  'connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Client was closed',
];

export function isTransientError(value: unknown): boolean {
  const err = toError(value) as Error & { code?: string };
  if (err.code && (err.code in transientSqlStates || transientNodeCodes.has(err.code))) return true;
  if (transientMessages.some((m) => err.message.includes(m))) return true;
  return err.cause !== undefined && err.cause !== err && isTransientError(err.cause);
}

/**
 * Errors no retry can fix: the event's data violates a constraint or a type
 * (SQLSTATE classes 22 and 23). The event is parked as dead at once.
 */
export function isPermanentError(value: unknown): boolean {
  const err = toError(value) as Error & { code?: string };
  const code = err.code;
  if (typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'))) return true;
  return err.cause !== undefined && err.cause !== err && isPermanentError(err.cause);
}

/** The error a drain failed with, without the BatchFailedError around it. */
export function rootOfBatchError(error: Error): Error {
  return error instanceof BatchFailedError ? toError(error.cause) : error;
}
