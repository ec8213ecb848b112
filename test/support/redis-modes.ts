// The end-to-end checks every Redis mode must pass (a Cluster, Sentinel): webhooks
// ingested and applied, the schedulers running, the sweeper recovering a trigger
// that never reached Redis.
import { expect, it } from 'vitest';
import type { Service } from '../../service.ts';
import type { TestContext } from './context.ts';
import { initialSync } from './directory.ts';
import { storeEvents, type WireEvent } from './events.ts';
import { postWebhook } from './webhooks.ts';
import { waitFor } from './workos.ts';

export async function postAll(service: Service, events: readonly WireEvent[]): Promise<number[]> {
  const statuses: number[] = [];
  for (const e of events) {
    statuses.push((await postWebhook(service.server!, JSON.stringify(e))).statusCode);
  }
  return statuses;
}

/** Resolves once every event of these organizations is applied. */
export async function waitApplied(
  ctx: TestContext,
  orgs: string[],
  expected: number,
  timeoutMs = 60_000,
) {
  await waitFor(
    `${expected} events applied`,
    async () => {
      const rows = await ctx.db
        .selectFrom('inbox')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('organization_id', 'in', orgs)
        .where('status', '=', 'applied')
        .executeTakeFirstOrThrow();
      return Number(rows.n) >= expected;
    },
    timeoutMs,
  );
}

export async function activeUsers(ctx: TestContext, orgs: string[]): Promise<number> {
  const row = await ctx.db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('organization_id', 'in', orgs)
    .where('state', '=', 'active')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export function redisModeTests(ctx: TestContext, tag: string): void {
  it('ingests webhooks and applies them; the schedulers run', async () => {
    const service = await ctx.startService(
      { api: true, worker: true },
      { SWEEP_INTERVAL_MS: 1_000 },
    );
    try {
      const orgs = [0, 1, 2].map((i) => `org_${tag}_${i}`);
      const events = orgs.flatMap((org) => initialSync({ org, users: 10 }));
      expect(new Set(await postAll(service, events))).toEqual(new Set([200]));
      await waitApplied(ctx, orgs, events.length);
      expect(await activeUsers(ctx, orgs)).toBe(30);
      const maintenance = service.worker!.maintenanceQueue;
      const schedulers = await maintenance.getJobSchedulers();
      expect(schedulers.map((s) => s.key)).toContain('sweep');
      await waitFor('a sweep to complete', async () => (await maintenance.getCompletedCount()) > 0);
    } finally {
      await service.stop();
    }
  });

  it('the sweeper recovers events whose trigger never reached Redis', async () => {
    const service = await ctx.startService(
      { api: false, worker: true },
      { SWEEP_INTERVAL_MS: 1_000 },
    );
    try {
      const org = `org_${tag}_lost`;
      const events = initialSync({ org, users: 5 });
      // Stored as ingestion stores them, but no trigger sent.
      await storeEvents(ctx.db, events);
      await waitApplied(ctx, [org], events.length);
      expect(await activeUsers(ctx, [org])).toBe(5);
    } finally {
      await service.stop();
    }
  });
}
