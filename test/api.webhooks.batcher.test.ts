// Group commit's batcher: concurrent calls share a batch, each caller gets its own
// result, and a failed batch fails every caller in it and nobody else; batches are
// capped by count and by size; a call waits no longer than its timeout, and one that
// timed out in the queue is never run.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBatcher } from '../api/webhooks/batcher.ts';
import { TimeoutError } from '../common/errors.ts';

/** A batch runner whose batches finish when the test says so. */
function controlled() {
  const batches: { items: number[]; finish: (fail?: Error) => void }[] = [];
  const run = (items: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      batches.push({
        items,
        finish: (fail) => (fail ? reject(fail) : resolve(items.map((i) => `done ${i}`))),
      });
    });
  return { batches, run };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('batcher (group commit)', () => {
  it('puts the calls of one turn of the event loop in one batch', async () => {
    const { batches, run } = controlled();
    const call = createBatcher(run, { maxBatch: 100, maxInFlight: 1 });
    const results = [1, 2, 3].map((i) => call(i));
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1, 2, 3]]);
    batches[0]!.finish();
    expect(await Promise.all(results)).toEqual(['done 1', 'done 2', 'done 3']);
  });

  it('gathers calls made while every slot is busy into the next batch, up to maxBatch', async () => {
    const { batches, run } = controlled();
    const call = createBatcher(run, { maxBatch: 2, maxInFlight: 1 });
    const first = call(1);
    await tick();
    const later = [2, 3, 4].map((i) => call(i));
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1]]);
    batches[0]!.finish();
    expect(await first).toBe('done 1');
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1], [2, 3]]);
    batches[1]!.finish();
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1], [2, 3], [4]]);
    batches[2]!.finish();
    expect(await Promise.all(later)).toEqual(['done 2', 'done 3', 'done 4']);
  });

  it('runs up to maxInFlight batches at once', async () => {
    const { batches, run } = controlled();
    const call = createBatcher(run, { maxBatch: 1, maxInFlight: 2 });
    const results = [1, 2, 3].map((i) => call(i));
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1], [2]]);
    batches[1]!.finish();
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1], [2], [3]]);
    batches[0]!.finish();
    batches[2]!.finish();
    expect(await Promise.all(results)).toEqual(['done 1', 'done 2', 'done 3']);
  });

  it('fails every call of a failed batch, and only those', async () => {
    const { batches, run } = controlled();
    const call = createBatcher(run, { maxBatch: 100, maxInFlight: 1 });
    const failed = [1, 2].map((i) => call(i));
    await tick();
    const next = call(3);
    batches[0]!.finish(new Error('connection lost'));
    for (const f of failed) await expect(f).rejects.toThrow('connection lost');
    await tick();
    batches[1]!.finish();
    expect(await next).toBe('done 3');
  });

  it('fails the calls of a batch that returns the wrong number of results', async () => {
    const call = createBatcher(async () => ['one'], { maxBatch: 100, maxInFlight: 1 });
    const results = [call(1), call(2)];
    for (const r of results)
      await expect(r).rejects.toThrow('batch returned 1 results for 2 items');
  });

  it('cuts batches by total size too, and sends an item larger than the cap alone', async () => {
    const { batches, run } = controlled();
    const call = createBatcher(run, {
      maxBatch: 100,
      maxInFlight: 1,
      maxSize: 10,
      sizeOf: (n) => n,
    });
    const blocker = call(1);
    await tick();
    const later = [4, 5, 2, 30, 3].map((i) => call(i));
    await tick();
    for (let i = 0; i < 4; i++) {
      batches.at(-1)!.finish();
      await tick();
    }
    batches.at(-1)!.finish();
    await Promise.all([blocker, ...later]);
    expect(batches.map((b) => b.items)).toEqual([[1], [4, 5], [2], [30], [3]]);
  });

  // Timeouts on a clock the test moves: each step happens when the test says, not
  // when a loaded machine gets round to a real timer. (setImmediate stays real.)
  describe('timeouts', () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it('rejects a call queued past its timeout and never runs its item', async () => {
      const { batches, run } = controlled();
      const call = createBatcher(run, {
        maxBatch: 100,
        maxInFlight: 1,
        timeoutMs: 30,
        what: 'test',
      });
      const slow = call(1).catch((err: unknown) => err);
      await tick();
      const queued = call(2).catch((err: unknown) => err);
      await vi.advanceTimersByTimeAsync(20);
      const fresh = call(3);
      await vi.advanceTimersByTimeAsync(10); // 1 and 2 have waited 30 ms, 3 has 10
      expect(await queued).toBeInstanceOf(TimeoutError);
      expect(((await queued) as Error).message).toBe('test timed out after 30 ms');
      expect(await slow).toBeInstanceOf(TimeoutError); // its batch is still running
      batches[0]!.finish();
      await tick();
      // 2 left the queue when it timed out; 3, called later, is still within its time.
      expect(batches.map((b) => b.items)).toEqual([[1], [3]]);
      batches[1]!.finish();
      expect(await fresh).toBe('done 3');
    });

    it('answers the calls of a batch that still have time when another timed out', async () => {
      const { batches, run } = controlled();
      const call = createBatcher(run, { maxBatch: 100, maxInFlight: 1, timeoutMs: 40 });
      const early = call(1).catch((err: unknown) => err);
      await tick();
      await vi.advanceTimersByTimeAsync(25);
      const blocker = batches[0]!;
      const late = call(2);
      await vi.advanceTimersByTimeAsync(15); // 1 has waited 40 ms, 2 has 15
      expect(await early).toBeInstanceOf(TimeoutError);
      blocker.finish();
      await tick();
      batches[1]!.finish();
      expect(await late).toBe('done 2');
    });
  });
});
