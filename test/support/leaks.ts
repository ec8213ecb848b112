// Resource tracking for tests: every pool, queue, worker or server a test opens
// through the helpers is registered here, and a test that leaves one open fails.
// What a test opens must be closed by the end of that test; what a beforeAll
// opens, by the end of the file.
import { afterAll, afterEach, expect } from 'vitest';

interface Tracked {
  name: string;
  scope: 'test' | 'file';
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
  const scope = expect.getState().currentTestName ? 'test' : 'file';
  const entry: Tracked = { name, scope, closed: false, close: async () => original.call(target) };
  (target as Record<string, unknown>)[method] = (...args: unknown[]) => {
    entry.closed = true;
    open.delete(entry);
    return original.apply(target, args);
  };
  open.add(entry);
  return target;
}

async function check(scope: Tracked['scope']): Promise<void> {
  const leaked = [...open].filter((t) => t.scope === scope && !t.closed);
  for (const t of leaked) open.delete(t);
  if (leaked.length === 0) return;
  await Promise.allSettled(leaked.map((t) => t.close()));
  throw new Error(`left open: ${leaked.map((t) => t.name).join(', ')}`);
}

/** Registered once per test file by the test context. */
export function failOnLeaks(): void {
  afterEach(() => check('test'));
  afterAll(() => check('file'));
}
