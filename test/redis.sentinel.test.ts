// dirsync on a Redis master and replica watched by three Sentinels
// (test/services/start.sh); a failover in the middle of a stream of webhooks loses
// nothing.
import { Redis as IORedis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { useTestContext } from './support/context.ts';
import { initialSync } from './support/directory.ts';
import { activeUsers, postAll, redisModeTests, waitApplied } from './support/redis-modes.ts';
import { serviceAvailable } from './support/services.ts';
import { waitFor } from './support/workos.ts';

const services = inject('services');
const available = serviceAvailable(services, 'Redis Sentinel', services.sentinels !== undefined);
const ctx = useTestContext('redis_sentinel', { redis: available ? 'sentinel' : 'standalone' });

function sentinel(): IORedis {
  const [host, port] = (services.sentinels ?? '').split(',')[0]!.split(':');
  return ctx.track('sentinel', new IORedis({ host, port: Number(port) }), 'disconnect');
}

async function masterAddress(s: IORedis): Promise<string> {
  const [host, port] = (await s.call(
    'SENTINEL',
    'GET-MASTER-ADDR-BY-NAME',
    services.sentinelName!,
  )) as string[];
  return `${host}:${port}`;
}

describe.runIf(available)('Redis Sentinel', () => {
  redisModeTests(ctx, 'sentinel');

  it('a failover in the middle of a stream of webhooks loses nothing', {
    timeout: 120_000,
  }, async () => {
    const s = sentinel();
    const service = await ctx.startService(
      { api: true, worker: true },
      { SWEEP_INTERVAL_MS: 1_000 },
    );
    try {
      const orgs = Array.from({ length: 6 }, (_, i) => `org_failover_${i}`);
      const batches = orgs.map((org) => initialSync({ org, users: 20 }));
      const all = batches.flat();
      const half = Math.floor(all.length / 2);
      const first = await postAll(service, all.slice(0, half));
      const before = await masterAddress(s);
      // The Sentinels may still be discovering the replica: retry until accepted.
      await waitFor(
        'the failover to start',
        async () => {
          try {
            await s.call('SENTINEL', 'FAILOVER', services.sentinelName!);
            return true;
          } catch {
            return false;
          }
        },
        30_000,
      );
      const during = await postAll(service, all.slice(half));
      await waitFor('a new master', async () => (await masterAddress(s)) !== before, 30_000);
      const statuses = [...first, ...during];
      expect(statuses.filter((code) => code !== 200)).toEqual([]);
      await waitApplied(ctx, orgs, all.length, 90_000);
      expect(await activeUsers(ctx, orgs)).toBe(orgs.length * 20);
      // And the worker keeps going on the new master.
      const late = initialSync({ org: 'org_failover_late', users: 3 });
      expect(new Set(await postAll(service, late))).toEqual(new Set([200]));
      await waitApplied(ctx, ['org_failover_late'], late.length);
    } finally {
      await service.stop();
      s.disconnect(); // Sentinels do not know QUIT
    }
  });
});
