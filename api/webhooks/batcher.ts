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

export interface BatcherOptions {
  /** Most items in one batch. */
  maxBatch: number;
  /** Most batches running at once. */
  maxInFlight: number;
}

/** Runs one batch; returns one result per item, in the items' order. */
export type RunBatch<In, Out> = (items: In[]) => Promise<Out[]>;

interface Waiting<In, Out> {
  item: In;
  resolve: (value: Out) => void;
  reject: (reason: unknown) => void;
}

export function createBatcher<In, Out>(
  run: RunBatch<In, Out>,
  options: BatcherOptions,
): (item: In) => Promise<Out> {
  const { maxBatch, maxInFlight } = options;
  let waiting: Waiting<In, Out>[] = [];
  let inFlight = 0;
  let scheduled = false;

  const start = (batch: Waiting<In, Out>[]) => {
    inFlight += 1;
    run(batch.map((w) => w.item))
      .then((results) => {
        if (results.length !== batch.length) {
          throw new Error(`batch returned ${results.length} results for ${batch.length} items`);
        }
        batch.forEach((w, i) => {
          w.resolve(results[i] as Out);
        });
      })
      .catch((err: unknown) => {
        for (const w of batch) w.reject(err);
      })
      .finally(() => {
        inFlight -= 1;
        pump();
      });
  };

  const pump = () => {
    while (inFlight < maxInFlight && waiting.length > 0) {
      const batch = waiting.length <= maxBatch ? waiting : waiting.slice(0, maxBatch);
      waiting = batch === waiting ? [] : waiting.slice(maxBatch);
      start(batch);
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
      waiting.push({ item, resolve, reject });
      schedule();
    });
}
