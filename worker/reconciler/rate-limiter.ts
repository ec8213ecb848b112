// A sliding-window rate limiter per key: at most `limit` starts in any `windowMs`.
// WorkOS allows 4 requests per second per directory on /directory_users; the
// reconciler stays under it rather than leaning on 429s. The window is a little
// longer than a second so network jitter cannot land five requests in one.

export interface RateLimiter {
  /** Resolves when a request for `key` may start (and counts it). */
  take(key: string): Promise<void>;
}

export function createRateLimiter(limit: number, windowMs = 1_100): RateLimiter {
  const starts = new Map<string, number[]>();
  const queues = new Map<string, Promise<void>>();
  const takeNow = async (key: string) => {
    for (;;) {
      const now = performance.now();
      const recent = (starts.get(key) ?? []).filter((t) => now - t < windowMs);
      if (recent.length < limit) {
        recent.push(now);
        starts.set(key, recent);
        return;
      }
      starts.set(key, recent);
      await new Promise((r) => setTimeout(r, windowMs - (now - recent[0]!) + 1));
    }
  };
  return {
    take(key) {
      // One waiter at a time per key, in arrival order.
      const next = (queues.get(key) ?? Promise.resolve()).then(() => takeNow(key));
      queues.set(
        key,
        next.catch(() => {}),
      );
      return next;
    },
  };
}

/** WorkOS's documented limit on /directory_users, shared by every reconciliation of this process. */
export const directoryUsersLimiter = createRateLimiter(4);
