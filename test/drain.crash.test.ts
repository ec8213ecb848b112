// A worker process killed mid-drain (SIGKILL: no shutdown, an open transaction, a
// BullMQ job left active) loses nothing and applies nothing twice: the transaction
// rolls back, the job's lock lapses, and another worker takes the drain over.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resources } from '../common/resources.ts';
import { triggerDrain } from '../common/triggers.ts';
import { useTestContext } from './support/context.ts';
import { initialSync } from './support/directory.ts';
import { storeEvents } from './support/events.ts';

const ctx = useTestContext('drain_crash');
let resources: Resources;
const children: ChildProcess[] = [];

beforeAll(() => {
  resources = ctx.openResources();
});
afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await resources.close();
});

function startWorker(): ChildProcess {
  const child = spawn(process.execPath, ['worker/main.ts'], {
    env: {
      ...process.env,
      ...ctx.env(),
      MIGRATE_ON_START: 'false',
      DRAIN_BATCH_SIZE: '25',
      DRAIN_JOB_LOCK_MS: '1500',
      SWEEP_INTERVAL_MS: '1000',
      WORKOS_POLL_INTERVAL_MS: '0',
      LOG_LEVEL: 'silent',
    },
    stdio: 'ignore',
  });
  children.push(child);
  return child;
}

const applied = async (org: string) =>
  Number(
    (
      await ctx.db
        .selectFrom('inbox')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('organization_id', '=', org)
        .where('status', '=', 'applied')
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('drain: a worker killed mid-drain', () => {
  it('is taken over by another worker with nothing lost or applied twice', async () => {
    const org = 'org_crash';
    await storeEvents(ctx.db, initialSync({ org, users: 3000 }));
    const first = startWorker();
    await triggerDrain(resources.drainQueue, org);
    await expect.poll(() => applied(org), { timeout: 60_000, interval: 20 }).toBeGreaterThan(200);
    first.kill('SIGKILL');
    await once(first, 'exit');
    const before = await applied(org);
    expect(before).toBeLessThan(3001);

    const second = startWorker();
    await expect.poll(() => applied(org), { timeout: 90_000, interval: 200 }).toBe(3001);
    const attempts = await ctx.db
      .selectFrom('inbox')
      .select('attempts')
      .distinct()
      .where('organization_id', '=', org)
      .execute();
    expect(attempts).toEqual([{ attempts: 1 }]);
    const provisioned = await ctx.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('organization_id', '=', org)
      .where('action', '=', 'user_provisioned')
      .executeTakeFirstOrThrow();
    expect(Number(provisioned.n)).toBe(3000);

    second.kill('SIGTERM');
    const [code] = await once(second, 'exit');
    expect(code).toBe(0);
  }, 180_000);
});
