// The poller's drain triggers: sent after each stored page without holding up the
// next one, coalesced while one is in flight, all out once flush() returns, and a
// Redis failure only warns (the sweeper re-triggers).
import { describe, expect, it } from 'vitest';
import { createLogger } from '../common/logger.ts';
import type { DrainQueue } from '../common/triggers.ts';
import { createDrainTriggers } from '../worker/poller/drain-triggers.ts';

const log = createLogger({ LOG_LEVEL: 'silent' });

function fakeQueue(fail = 0) {
  const batches: string[][] = [];
  const queue = {
    async addBulk(jobs: Array<{ data: { organizationId: string } }>) {
      await new Promise((r) => setTimeout(r, 20));
      if (fail-- > 0) throw new Error('redis down');
      batches.push(jobs.map((j) => j.data.organizationId));
      return [];
    },
  };
  return { queue: queue as unknown as DrainQueue, batches };
}

describe('drain triggers', () => {
  it('coalesces organizations added while a send is in flight, and flush waits for all', async () => {
    const { queue, batches } = fakeQueue();
    const triggers = createDrainTriggers(queue, log);
    triggers.add(['org_a']);
    triggers.add(['org_b', 'org_c']);
    triggers.add(['org_b']);
    triggers.add([]);
    await triggers.flush();
    expect(batches).toEqual([['org_a'], ['org_b', 'org_c']]);
    triggers.add(['org_d']);
    await triggers.flush();
    expect(batches.at(-1)).toEqual(['org_d']);
  });

  it('sends nothing for nothing, and flush returns at once', async () => {
    const { queue, batches } = fakeQueue();
    const triggers = createDrainTriggers(queue, log);
    triggers.add([]);
    await triggers.flush();
    expect(batches).toEqual([]);
  });

  it('goes on after a failed send', async () => {
    const { queue, batches } = fakeQueue(1);
    const triggers = createDrainTriggers(queue, log);
    triggers.add(['org_a']);
    triggers.add(['org_b']);
    await triggers.flush();
    expect(batches).toEqual([['org_b']]);
  });
});
