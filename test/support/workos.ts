// Helpers for tests that talk to the fake WorkOS: a retry policy with short waits
// (the behaviour is the production one, only the backoff is smaller), and polling
// for a condition instead of sleeping.
import type { RetryPolicy } from '../../worker/workos/retry.ts';

export const FAST_RETRY: RetryPolicy = Object.freeze({
  retries: 5,
  minTimeoutMs: 20,
  maxTimeoutMs: 100,
  rateLimitFallbackMs: 50,
  maxRetryAfterMs: 5_000,
  maxRateLimited: 5,
});

/** Resolves once `condition` holds; fails after `timeoutMs` naming `what`. */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
