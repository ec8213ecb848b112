// What a failed database call means, for whoever decides what to do next: the
// webhook edge (inbox writer) and the drain read this one table.
// https://www.postgresql.org/docs/current/errcodes-appendix.html
//
// - transient: the server or the connection failed, not the statement; the same
//   statement can succeed later, so it is retried.
// - data: the statement's data is wrong for the schema, or too big for the server;
//   the same data fails again however often it is sent. The edge refuses the event
//   (400); the drain parks it as dead at once.
// - other: anything else (a bug, a missing permission or table). Not retried in
//   place and not blamed on the data: the edge answers 5xx, the drain counts the
//   failure against the event up to its attempt limit.

export type DatabaseErrorKind = 'transient' | 'data' | 'other';

// By SQLSTATE code, or by class (its first two characters) for a whole class. A code
// listed here wins over its class.
const SQLSTATES: Record<string, { kind: DatabaseErrorKind; name: string }> = {
  // Class 08, connection exception (not 08P01 protocol_violation: a bug, not an outage).
  '08000': { kind: 'transient', name: 'connection_exception' },
  '08001': { kind: 'transient', name: 'sqlclient_unable_to_establish_sqlconnection' },
  '08003': { kind: 'transient', name: 'connection_does_not_exist' },
  '08004': { kind: 'transient', name: 'sqlserver_rejected_establishment_of_sqlconnection' },
  '08006': { kind: 'transient', name: 'connection_failure' },
  // Class 22, data exception: a value of the wrong type or range, bad JSON, NUL bytes.
  '22': { kind: 'data', name: 'data_exception' },
  // Class 23, integrity constraint violation: not null, foreign key, unique, check.
  '23': { kind: 'data', name: 'integrity_constraint_violation' },
  // Class 40, transaction rollback: another transaction was in the way.
  '40001': { kind: 'transient', name: 'serialization_failure' },
  '40P01': { kind: 'transient', name: 'deadlock_detected' },
  // Class 53, insufficient resources: only running out of connections passes.
  '53300': { kind: 'transient', name: 'too_many_connections' },
  // Class 54, program limit exceeded: JSON nested too deep (54001, stack depth limit
  // exceeded), too many columns or arguments. The data is too big for the server.
  '54': { kind: 'data', name: 'program_limit_exceeded' },
  // Class 55, object not in prerequisite state.
  '55P03': { kind: 'transient', name: 'lock_not_available' },
  // Class 57, operator intervention: the server is restarting or starting.
  '57P01': { kind: 'transient', name: 'admin_shutdown' },
  '57P02': { kind: 'transient', name: 'crash_shutdown' },
  '57P03': { kind: 'transient', name: 'cannot_connect_now' },
};

// Node-level codes of a connection lost or refused.
const TRANSIENT_NODE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

// The pg client's own errors of a lost or unobtainable connection carry no code:
// their message is all there is, so it is matched only when there is no code.
const TRANSIENT_CLIENT_MESSAGES = [
  'Connection terminated',
  'connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Client was closed',
];

/** The kind of one SQLSTATE, or undefined when it is not one of the table's. */
export function sqlStateKind(code: string): DatabaseErrorKind | undefined {
  return (SQLSTATES[code] ?? SQLSTATES[code.slice(0, 2)])?.kind;
}

function kindOfOne(err: { code?: unknown; message?: unknown }): DatabaseErrorKind | undefined {
  const code = err.code;
  if (typeof code === 'string' && code !== '') {
    if (TRANSIENT_NODE_CODES.has(code)) return 'transient';
    return code.length === 5 ? sqlStateKind(code) : undefined;
  }
  const message = typeof err.message === 'string' ? err.message : '';
  return TRANSIENT_CLIENT_MESSAGES.some((m) => message.includes(m)) ? 'transient' : undefined;
}

/**
 * The kind of a failed database call: the first error along its `cause` chain that
 * the table knows decides; `other` when none does.
 */
export function databaseErrorKind(value: unknown): DatabaseErrorKind {
  const seen = new Set<unknown>();
  for (let err = value; err && typeof err === 'object' && !seen.has(err); ) {
    seen.add(err);
    const kind = kindOfOne(err as { code?: unknown; message?: unknown });
    if (kind) return kind;
    err = (err as { cause?: unknown }).cause;
  }
  return 'other';
}

/** The SQLSTATE of a data error (the error itself, not its causes), else undefined. */
export function dataErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length === 5 && sqlStateKind(code) === 'data'
    ? code
    : undefined;
}
