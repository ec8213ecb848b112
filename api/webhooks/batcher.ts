// Coalesces concurrent calls into batches (group commit). Each call resolves with its
// own result only once the batch holding it has finished, and every call of a batch
// that fails rejects with that batch's error: batching changes how much work one
// round trip carries, never what a caller is told.
//
// No call waits for company: a batch starts as soon as a slot is free. Calls arriving
// while every slot is busy queue up and leave together in the next batch, so batches
// grow with load and stay at one under light traffic. Starting is deferred to
// `setImmediate` so that the requests parsed in one turn of the event loop share a
// batch.
//
// Bounded waits: with `timeoutMs`, a call rejects with a TimeoutError once it has
// waited that long, queued or running. A call that times out while still queued
// leaves the queue (its item never runs, so a caller told "failed" is not later
// carried out); one whose batch is already running cannot be recalled, and the
// batch's result for it is dropped.
import { TimeoutError } from '../../common/errors.ts';

export interface BatcherOptions<In = unknown> {
  /** Most items in one batch. */
  maxBatch: number;
  /** Most batches running at once. */
  maxInFlight: number;
  /** Most total `sizeOf` in one batch; an item larger on its own goes alone. */
  maxSize?: number;
  sizeOf?: (item: In) => number;
  /** Longest a call waits for its result, from the call on. */
  timeoutMs?: number;
  /** What a call is, for the timeout's message. */
  what?: string;
}

/** Runs one batch; returns one result per item, in the items' order. */
export type RunBatch<In, Out> = (items: In[]) => Promise<Out[]>;

interface Waiting<In, Out> {
  item: In;
  size: number;
  /** Settled: answered, failed or timed out. A settled call still queued is skipped. */
  done: boolean;
  timer: NodeJS.Timeout | undefined;
  resolve: (value: Out) => void;
  reject: (reason: unknown) => void;
}

export function createBatcher<In, Out>(
  run: RunBatch<In, Out>,
  options: BatcherOptions<In>,
): (item: In) => Promise<Out> {
  const { maxBatch, maxInFlight, timeoutMs } = options;
  const maxSize = options.maxSize ?? Number.POSITIVE_INFINITY;
  const sizeOf = options.sizeOf;
  const what = options.what ?? 'batched call';
  // A queue with a moving head: taking from the front is O(1).
  let waiting: Waiting<In, Out>[] = [];
  let head = 0;
  let inFlight = 0;
  let scheduled = false;

  const settle = (w: Waiting<In, Out>) => {
    w.done = true;
    if (w.timer) clearTimeout(w.timer);
  };

  const start = (batch: Waiting<In, Out>[]) => {
    inFlight += 1;
    run(batch.map((w) => w.item))
      .then((results) => {
        if (results.length !== batch.length) {
          throw new Error(`batch returned ${results.length} results for ${batch.length} items`);
        }
        batch.forEach((w, i) => {
          if (w.done) return;
          settle(w);
          w.resolve(results[i] as Out);
        });
      })
      .catch((err: unknown) => {
        for (const w of batch) {
          if (w.done) continue;
          settle(w);
          w.reject(err);
        }
      })
      .finally(() => {
        inFlight -= 1;
        pump();
      });
  };

  /** The next batch from the front of the queue, skipping calls that timed out. */
  const take = (): Waiting<In, Out>[] => {
    const batch: Waiting<In, Out>[] = [];
    let size = 0;
    while (head < waiting.length && batch.length < maxBatch) {
      const w = waiting[head] as Waiting<In, Out>;
      if (w.done) {
        head += 1;
        continue;
      }
      if (batch.length > 0 && size + w.size > maxSize) break;
      batch.push(w);
      size += w.size;
      head += 1;
    }
    // Let go of what was taken once it is most of the array.
    if (head === waiting.length || (head > 1024 && head * 2 > waiting.length)) {
      waiting = waiting.slice(head);
      head = 0;
    }
    return batch;
  };

  const pump = () => {
    while (inFlight < maxInFlight && head < waiting.length) {
      const batch = take();
      if (batch.length > 0) start(batch);
    }
  };

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      pump();
    });
  };

  return (item) =>
    new Promise<Out>((resolve, reject) => {
      const w: Waiting<In, Out> = {
        item,
        size: sizeOf ? sizeOf(item) : 0,
        done: false,
        timer: undefined,
        resolve,
        reject,
      };
      if (timeoutMs !== undefined) {
        w.timer = setTimeout(() => {
          if (w.done) return;
          w.done = true;
          reject(new TimeoutError(`${what} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
      }
      waiting.push(w);
      schedule();
    });
}
