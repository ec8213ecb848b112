// The one place a WorkOS API client is built, used by the Events API poller and the
// reconciler, and how they read WorkOS's paginated lists.
//
// Why `workos.get(path)` and not `events.listEvents()` / `directorySync.listUsers()`:
// those methods make exactly this request (same path, same snake_case query, same
// HTTP client, auth and error classes) and then camelCase the answer through
// per-type deserializers that drop every field they do not know (`object`,
// `external_key`, future fields). The inbox stores the wire shape, one event one
// payload, whichever way it arrived; converting back would be a lossy second
// serializer to keep in step with the SDK. Reading the raw JSON through the SDK's own
// client keeps the event byte-for-byte what a webhook would have carried.
//
// Who retries: the SDK's built-in retry is off (`maxRetries: 0`); `withWorkOSRetry`
// (retry.ts) is the only retry loop, so waits are logged, bounded and
// honour `Retry-After` exactly once instead of twice.
import { WorkOS } from '@workos-inc/node';
import type { Config } from '../../common/config.ts';
import { parseRetryAfter } from './retry.ts';

export type WorkOSClient = Pick<WorkOS, 'get'>;

export interface WorkOSClientOptions {
  /** Per-request timeout; a request slower than this fails as a 408 and is retried. */
  timeoutMs?: number;
}

export class WorkOSNotConfiguredError extends Error {
  override name = 'WorkOSNotConfiguredError';
}

type WorkOSConfig = Pick<
  Config,
  'WORKOS_API_KEY' | 'WORKOS_API_HOSTNAME' | 'WORKOS_API_PORT' | 'WORKOS_API_HTTPS'
>;

export function createWorkOSClient(
  config: WorkOSConfig,
  options: WorkOSClientOptions = {},
): WorkOSClient {
  if (!config.WORKOS_API_KEY) {
    throw new WorkOSNotConfiguredError('WORKOS_API_KEY is not set: the WorkOS API is off');
  }
  return new WorkOS(config.WORKOS_API_KEY, {
    apiHostname: config.WORKOS_API_HOSTNAME,
    port: config.WORKOS_API_PORT,
    https: config.WORKOS_API_HTTPS,
    timeout: options.timeoutMs ?? 30_000,
    maxRetries: 0,
    fetchFn: fetchWithRetryAfterSeconds,
  });
}

/**
 * The SDK reads a 429's `Retry-After` as `Number(header)`, so an HTTP-date (which
 * RFC 9110 allows) became NaN and the wait fell back to a guess. This rewrites it
 * as whole seconds (rounded up: Retry-After is a lower bound) before the SDK sees it.
 */
export const fetchWithRetryAfterSeconds: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  const value = res.headers.get('retry-after');
  if (res.status !== 429 || value === null || /^\s*\d+\s*$/.test(value)) return res;
  const waitMs = parseRetryAfter(value);
  if (waitMs === null) return res;
  const headers = new Headers(res.headers);
  headers.set('retry-after', String(Math.ceil(waitMs / 1000)));
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
};

/** One page of a WorkOS list endpoint, as it came over the wire. */
export interface WirePage {
  data: unknown[];
  /** The cursors of the page: `after` is where the next page starts, null at the end. */
  after: string | null;
  before: string | null;
}

export class UnexpectedResponseError extends Error {
  override name = 'UnexpectedResponseError';
}

type Query = Record<string, string | number | undefined>;

/** GET one page of a list endpoint (`/events`, `/directories`, `/directory_users`…). */
export async function getListPage(
  workos: WorkOSClient,
  path: string,
  query: Query,
): Promise<WirePage> {
  const { data } = await workos.get<unknown>(path, { query, maxRetries: 0 });
  const body = data as { data?: unknown; list_metadata?: { after?: unknown; before?: unknown } };
  if (!body || !Array.isArray(body.data)) {
    throw new UnexpectedResponseError(`GET ${path}: the response is not a WorkOS list`);
  }
  const cursor = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  return {
    data: body.data,
    after: cursor(body.list_metadata?.after),
    before: cursor(body.list_metadata?.before),
  };
}
