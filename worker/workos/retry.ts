// Retrying WorkOS API calls: 429 waits for `Retry-After` (delta-seconds or an
// HTTP-date, up to `maxRetryAfterMs`); 5xx, timeouts and network errors back off
// exponentially (p-retry); anything else (401, 404, 422, a bug) fails at once,
// because repeating it cannot help.
import { RateLimitExceededException } from '@workos-inc/node';
import pRetry, { AbortError } from 'p-retry';
import { describeError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';

export interface RetryPolicy {
  /** Retries of 5xx, timeouts and network errors. */
  retries: number;
  /** First backoff; doubles each time, with jitter. */
  minTimeoutMs: number;
  maxTimeoutMs: number;
  /** A 429 without `Retry-After` waits this long. */
  rateLimitFallbackMs: number;
  /** The longest `Retry-After` honoured; a longer one fails the call (the next run retries). */
  maxRetryAfterMs: number;
  /** Consecutive 429s tolerated before giving up. */
  maxRateLimited: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  retries: 6,
  minTimeoutMs: 500,
  maxTimeoutMs: 30_000,
  rateLimitFallbackMs: 1_000,
  maxRetryAfterMs: 60_000,
  maxRateLimited: 20,
});

const HTTP_DATE = /^(mon|tue|wed|thu|fri|sat|sun)[a-z]*,? /i;

/**
 * A `Retry-After` value in ms: delta-seconds (`120`) or an HTTP-date (`Wed, 21 Oct
 * 2026 07:28:00 GMT`, RFC 9110 §10.2.3; a date already past is 0). Null when absent
 * or neither. Not capped here: the policy's `maxRetryAfterMs` decides what is too long.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  const trimmed = value?.trim();
  if (!trimmed) return null;
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Date.parse is lenient ("1.5" is a date to it), so only a weekday-led date counts.
  if (!HTTP_DATE.test(trimmed)) return null;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export type Failure =
  | { kind: 'rate_limited'; waitMs: number }
  | { kind: 'transient'; status?: number }
  | { kind: 'permanent' };

/** What a failed WorkOS call was, from the SDK's error classes. */
export function classifyFailure(error: unknown, policy: RetryPolicy): Failure {
  if (error instanceof RateLimitExceededException) {
    const seconds = error.retryAfter;
    const waitMs =
      seconds !== null && Number.isFinite(seconds) && seconds >= 0
        ? seconds * 1000
        : policy.rateLimitFallbackMs;
    return { kind: 'rate_limited', waitMs };
  }
  // Every SDK exception of an HTTP answer carries its status. 408 is also the SDK's
  // own request timeout.
  const status = error instanceof Error ? (error as { status?: unknown }).status : undefined;
  if (typeof status === 'number') {
    return status >= 500 || status === 408 ? { kind: 'transient', status } : { kind: 'permanent' };
  }
  // The SDK wraps transport failures (refused, reset, DNS, an unparsable error body)
  // as a plain Error "Unexpected error: …" with the original as `cause`.
  if (error instanceof Error && error.message.startsWith('Unexpected error')) {
    return { kind: 'transient' };
  }
  return { kind: 'permanent' };
}

export class WorkOSRequestError extends Error {
  override name = 'WorkOSRequestError';
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', abort, { once: true });
  });

interface RetryOptions {
  log: Logger;
  policy?: RetryPolicy;
  signal?: AbortSignal;
}

/**
 * Runs one WorkOS request, retrying as described above. `what` names it in logs.
 * Every failure it gives up on is a WorkOSRequestError whose message carries the
 * cause's text (`GET /directories: … fetch failed: connect ECONNREFUSED …`).
 */
export async function withWorkOSRetry<T>(
  what: string,
  run: () => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  try {
    return await retrying(what, run, options, policy);
  } catch (err) {
    if (err instanceof WorkOSRequestError || options.signal?.aborted) throw err;
    // Retries used up on a transient failure: the same class as a permanent one.
    throw new WorkOSRequestError(
      `${what}: ${describeError(err)} (gave up after ${policy.retries + 1} attempts)`,
      { cause: err },
    );
  }
}

function retrying<T>(
  what: string,
  run: () => Promise<T>,
  options: RetryOptions,
  policy: RetryPolicy,
): Promise<T> {
  let rateLimited = 0;
  return pRetry(
    async () => {
      try {
        const result = await run();
        rateLimited = 0;
        return result;
      } catch (err) {
        const failure = classifyFailure(err, policy);
        if (failure.kind === 'permanent') {
          throw new AbortError(
            new WorkOSRequestError(`${what}: ${describeError(err)}`, { cause: err }),
          );
        }
        if (failure.kind === 'rate_limited') {
          rateLimited += 1;
          if (failure.waitMs > policy.maxRetryAfterMs || rateLimited > policy.maxRateLimited) {
            throw new AbortError(
              new WorkOSRequestError(
                `${what}: rate limited (Retry-After ${failure.waitMs} ms, ${rateLimited} in a row)`,
                { cause: err },
              ),
            );
          }
        }
        throw err;
      }
    },
    {
      retries: policy.retries,
      minTimeout: policy.minTimeoutMs,
      maxTimeout: policy.maxTimeoutMs,
      factor: 2,
      randomize: true,
      signal: options.signal,
      // A 429 waits exactly what the server asked and does not use up a retry: the
      // server said when, backing off further would only slow the catch-up.
      shouldConsumeRetry: ({ error }) => classifyFailure(error, policy).kind !== 'rate_limited',
      onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
        const failure = classifyFailure(error, policy);
        options.log.warn(
          { err: error, what, attempt: attemptNumber, retriesLeft, failure: failure.kind },
          'workos request failed',
        );
        if (failure.kind === 'rate_limited') await sleep(failure.waitMs, options.signal);
      },
    },
  );
}
