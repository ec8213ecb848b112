// Resource tracking for tests: every pool, queue, worker or server a test opens
// through the helpers is registered here, and a test that leaves one open fails.
import { afterEach } from 'vitest';

interface Tracked {
  name: string;
  closed: boolean;
  close: () => Promise<unknown>;
}

const open = new Set<Tracked>();

/** Wraps `target[method]` so that calling it marks the resource closed. */
export function track<T extends object>(
  name: string,
  target: T,
  method: keyof T & string = 'close' as keyof T & string,
): T {
  const original = target[method] as unknown as (...args: unknown[]) => unknown;
  const entry: Tracked = { name, closed: false, close: async () => original.call(target) };
  (target as Record<string, unknown>)[method] = (...args: unknown[]) => {
    entry.closed = true;
    open.delete(entry);
    return original.apply(target, args);
  };
  open.add(entry);
  return target;
}

/** Registered once per test file by the test context. */
export function failOnLeaks(): void {
  afterEach(async () => {
    const leaked = [...open].filter((t) => !t.closed);
    open.clear();
    if (leaked.length === 0) return;
    await Promise.allSettled(leaked.map((t) => t.close()));
    throw new Error(`test left open: ${leaked.map((t) => t.name).join(', ')}`);
  });
}
