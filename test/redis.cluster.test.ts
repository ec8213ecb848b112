// dirsync on a 3-master Redis Cluster (test/services/start.sh): BullMQ's keys share
// one slot through the prefix's hash tag, every connection is an ioredis Cluster.

import { Cluster } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { hasHashTag } from '../common/config.ts';
import { useTestContext } from './support/context.ts';
import { redisModeTests } from './support/redis-modes.ts';
import { serviceAvailable } from './support/services.ts';

const services = inject('services');
const available = serviceAvailable(services, 'Redis Cluster', services.clusterNodes !== undefined);
const ctx = useTestContext('redis_cluster', { redis: available ? 'cluster' : 'standalone' });

describe.runIf(available)('Redis Cluster', () => {
  it('connects as a Cluster client, with a hash-tag prefix', async () => {
    expect(ctx.config.redis.mode).toBe('cluster');
    expect(hasHashTag(ctx.config.REDIS_PREFIX)).toBe(true);
    const redis = ctx.redis();
    expect(redis).toBeInstanceOf(Cluster);
    expect(await redis.ping()).toBe('PONG');
    await redis.quit();
  });

  redisModeTests(ctx, 'cluster');
});
