// The JSON logger shared by api and worker. Secrets, signatures and personal data
// (emails, names, directory attributes) are redacted wherever they sit in a log
// object, and errors are logged without the parts that quote data.
//
// Two layers, because pino's path redaction (@pinojs/redact) re-parses every
// wildcard path on every line: `*.email`, `*.*.email` for twenty keys cost ~130 µs a
// line, and still missed `event.data.user.email`. So:
// - the redact paths are top-level keys only (about 1 µs a line): they also cover a
//   child logger's bindings, which pino serialises without the log formatter;
// - the log formatter walks each logged object (to DEPTH levels) and replaces the
//   value of any sensitive key at any level (well under 1 µs on a flat line), copying
//   only what it changes, so the caller's objects are never touched.
import { type DestinationStream, type Logger, pino } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

const CENSOR = '[redacted]';

/** Keys whose values are secrets or credentials, at any level. */
const SECRET_KEYS = [
  'password',
  'secret',
  'token',
  'apiKey',
  'api_key',
  'authorization',
  'cookie',
  'signature',
  'workos-signature',
  // Configuration that holds credentials, logged on its own or inside `config`.
  'DATABASE_URL',
  'DATABASE_DIRECT_URL',
  'REDIS_URL',
  'REDIS_PASSWORD',
  'REDIS_SENTINEL_PASSWORD',
  'ADMIN_TOKEN',
  'ADMIN_TOKENS',
  'WORKOS_API_KEY',
  'WORKOS_WEBHOOK_SECRET',
];

/** Keys whose values are personal data or may hold it, at any level. */
const PERSONAL_KEYS = [
  'email',
  'emails',
  'first_name',
  'last_name',
  'firstName',
  'lastName',
  'username',
  'raw_attributes',
  'rawAttributes',
  'custom_attributes',
  'customAttributes',
  // Whole events and request bodies carry all of the above.
  'payload',
  'body',
];

/**
 * Redacted below the top level only: at the top, `name` is pino's own logger name
 * (and `err.name` an error's class), while a nested `name` may be a person's.
 */
const NESTED_ONLY_KEYS = ['name', 'display_name', 'displayName'];

const TOP_LEVEL = new Set([...SECRET_KEYS, ...PERSONAL_KEYS]);
const NESTED = new Set([...TOP_LEVEL, ...NESTED_ONLY_KEYS]);

/** pino redact paths: every sensitive key at the top level (no wildcards, see above). */
const redactPaths = [...TOP_LEVEL].map((key) => (/^\w+$/.test(key) ? key : `["${key}"]`));

/** Deeper than this an object is logged as `[object]`: log lines are not dumps. */
const DEPTH = 8;

/**
 * Postgres error fields that quote data: `detail` ("Failing row contains (…)", "Key
 * (email)=(…)"), `where` (the context, e.g. the JSON text being parsed),
 * `internalQuery`; and the query parameters some drivers attach.
 */
const ERROR_DATA_KEYS = ['detail', 'where', 'internalQuery', 'parameters'];

/** pino's error serializer, without the fields that quote data and with the rest scrubbed. */
function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const serialized = pino.stdSerializers.err(err) as unknown as Record<string, unknown>;
  for (const key of ERROR_DATA_KEYS) delete serialized[key];
  const aggregate = serialized.aggregateErrors;
  if (Array.isArray(aggregate)) {
    for (const inner of aggregate as Record<string, unknown>[]) {
      for (const key of ERROR_DATA_KEYS) delete inner[key];
    }
  }
  // An error's own `name` is its class, never a person's: kept.
  const { name } = serialized;
  const scrubbed = scrubFields(serialized, 1);
  return scrubbed === serialized || name === undefined ? scrubbed : { ...scrubbed, name };
}

/** `value` with every sensitive key's value censored; copies only what changes. */
function scrub(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return serializeError(value);
  if (depth >= DEPTH) return '[object]';
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      const clean = scrub(item, depth + 1);
      if (clean !== item) {
        copy ??= value.slice();
        copy[i] = clean;
      }
    }
    return copy ?? value;
  }
  // Dates, buffers, maps: serialised by JSON.stringify as they are; no keys to check.
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
    return value;
  }
  return scrubFields(value as Record<string, unknown>, depth);
}

function scrubFields(fields: Record<string, unknown>, depth: number): Record<string, unknown> {
  const sensitive = depth === 0 ? TOP_LEVEL : NESTED;
  let copy: Record<string, unknown> | undefined;
  for (const key in fields) {
    const item = fields[key];
    const clean = sensitive.has(key) ? CENSOR : scrub(item, depth + 1);
    if (clean !== item) {
      copy ??= { ...fields };
      copy[key] = clean;
    }
  }
  return copy ?? fields;
}

/**
 * The process's logger. `destination` defaults to stdout (tests and the CLI pass
 * their own streams).
 */
export function createLogger(
  config: Pick<Config, 'LOG_LEVEL'>,
  name = 'dirsync',
  destination?: DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    name,
    level: config.LOG_LEVEL,
    redact: { paths: redactPaths, censor: CENSOR },
    // The formatter has already turned errors into scrubbed objects; this serializer
    // covers an `err` given to a child logger's bindings.
    serializers: { err: serializeError },
    formatters: { log: (fields) => scrubFields(fields, 0) },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
