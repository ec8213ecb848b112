// Error helpers shared by api and worker.

/** Normalises anything thrown into an Error, keeping the original as `cause`. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value), { cause: value });
}

/** Rejects with a TimeoutError when `promise` has not settled after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/**
 * An error's message followed by its causes' (`fetch failed: connect ECONNREFUSED
 * 127.0.0.1:9`), each left out when the text before already says it: wrappers such
 * as the WorkOS SDK's "Unexpected error: TypeError: fetch failed" repeat their cause.
 */
export function describeError(value: unknown): string {
  let text = toError(value).message;
  let cause = toError(value).cause;
  for (let depth = 0; cause !== undefined && cause !== null && depth < 5; depth += 1) {
    const message = cause instanceof Error ? cause.message : String(cause);
    if (message && !text.includes(message)) text += `: ${message}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return text;
}
