import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildServer } from '../api/server.ts';
import type { Config } from '../common/config.ts';
import type { Resources } from '../common/resources.ts';
import { triggerDrain } from '../common/triggers.ts';
import { useTestContext } from './support/context.ts';
import { seedOperatorWorld } from './support/operator-fixtures.ts';

const ctx = useTestContext('metrics');

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (0.0.4): TYPE lines and samples. */
function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      types.set(name!, type!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return { types, samples };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}) {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length !== 1)
    throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0]!.value;
}

let open: { app: FastifyInstance; resources: Resources } | undefined;
afterEach(async () => {
  await open?.app.close();
  await open?.resources.close();
  open = undefined;
});

async function start(overrides: Partial<Config> = {}) {
  const resources = ctx.openResources(overrides);
  const app = await buildServer(resources);
  open = { app, resources };
  return { app, resources };
}

async function scrape(app: FastifyInstance) {
  const res = await app.inject('/metrics');
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(res.body);
}

describe('GET /metrics', () => {
  it('is open to scrapers and declares every dirsync series with its type', async () => {
    const { app } = await start({ ADMIN_TOKEN: 'admin-token-0123456789abcdef' });
    const { types } = await scrape(app);
    expect(
      Object.fromEntries([...types].filter(([name]) => !name.startsWith('dirsync_process_'))),
    ).toMatchObject({
      dirsync_webhooks_total: 'counter',
      dirsync_events_ingested_total: 'counter',
      dirsync_events_applied_total: 'counter',
      dirsync_apply_batch_seconds: 'histogram',
      dirsync_event_to_revocation_seconds: 'histogram',
      dirsync_dead_events_total: 'counter',
      dirsync_poll_lag_seconds: 'gauge',
      dirsync_poll_age_seconds: 'gauge',
      dirsync_organizations: 'gauge',
      dirsync_inbox_pending_events: 'gauge',
      dirsync_inbox_oldest_pending_age_seconds: 'gauge',
      dirsync_inbox_dead_events: 'gauge',
      dirsync_organization_paused: 'gauge',
      dirsync_queue_jobs: 'gauge',
      dirsync_metrics_read_failures_total: 'counter',
    });
    expect(types.get('dirsync_process_process_cpu_seconds_total')).toBe('counter');
  });

  it('reports inbox depth, oldest-pending age and dead events per organization, and queue counts', async () => {
    const world = await seedOperatorWorld(ctx.db);
    await ctx.db
      .insertInto('poll_cursors')
      .values({
        name: 'workos_events',
        cursor: 'event_x',
        polled_at: new Date(Date.now() - 42_000),
      })
      .execute();
    const { app, resources } = await start();
    await triggerDrain(resources.drainQueue, world.paused);

    const { samples } = await scrape(app);
    const org = (id: string) => ({ organization_id: id });
    expect(value(samples, 'dirsync_inbox_pending_events', org(world.paused))).toBe(2);
    expect(
      value(samples, 'dirsync_inbox_oldest_pending_age_seconds', org(world.paused)),
    ).toBeGreaterThan(599);
    expect(value(samples, 'dirsync_organization_paused', org(world.paused))).toBe(1);
    expect(value(samples, 'dirsync_inbox_dead_events', org(world.failing))).toBe(1);
    expect(value(samples, 'dirsync_inbox_pending_events', org(world.failing))).toBe(0);
    expect(value(samples, 'dirsync_inbox_oldest_pending_age_seconds', org(world.healthy))).toBe(0);
    expect(value(samples, 'dirsync_organizations')).toBe(3);
    expect(
      value(samples, 'dirsync_poll_age_seconds', { cursor: 'workos_events' }),
    ).toBeGreaterThanOrEqual(42);
    expect(value(samples, 'dirsync_queue_jobs', { queue: 'drain', state: 'waiting' })).toBe(1);
    expect(value(samples, 'dirsync_queue_jobs', { queue: 'maintenance', state: 'failed' })).toBe(0);

    // A replayed dead event leaves the dead gauge at the next scrape.
    await ctx.db
      .updateTable('inbox')
      .set({ status: 'pending' })
      .where('event_id', '=', world.failingEventId)
      .execute();
    const after = await scrape(app);
    expect(value(after.samples, 'dirsync_inbox_dead_events', org(world.failing))).toBe(0);
    expect(value(after.samples, 'dirsync_inbox_pending_events', org(world.failing))).toBe(1);
  });

  it('exposes what the webhook and drain code count: outcomes, types and latencies', async () => {
    const { app, resources } = await start();
    const { metrics } = resources;
    metrics.webhooks.inc({ outcome: 'accepted' }, 3);
    metrics.webhooks.inc({ outcome: 'rejected_401' });
    metrics.eventsApplied.inc({ type: 'dsync.user.deleted', outcome: 'applied' }, 2);
    metrics.deadEvents.inc({ type: 'dsync.group.user_added' });
    metrics.applyLatency.observe(0.03);
    metrics.revocationLatency.observe(0.2);
    metrics.revocationLatency.observe(4);

    const { samples } = await scrape(app);
    expect(value(samples, 'dirsync_webhooks_total', { outcome: 'accepted' })).toBe(3);
    expect(value(samples, 'dirsync_webhooks_total', { outcome: 'rejected_401' })).toBe(1);
    expect(
      value(samples, 'dirsync_events_applied_total', {
        type: 'dsync.user.deleted',
        outcome: 'applied',
      }),
    ).toBe(2);
    expect(value(samples, 'dirsync_dead_events_total', { type: 'dsync.group.user_added' })).toBe(1);
    expect(value(samples, 'dirsync_apply_batch_seconds_count')).toBe(1);
    expect(value(samples, 'dirsync_event_to_revocation_seconds_count')).toBe(2);
    expect(value(samples, 'dirsync_event_to_revocation_seconds_bucket', { le: '0.25' })).toBe(1);
    expect(value(samples, 'dirsync_event_to_revocation_seconds_bucket', { le: '5' })).toBe(2);
    expect(value(samples, 'dirsync_event_to_revocation_seconds_sum')).toBeCloseTo(4.2);
  });

  it('still answers when Redis is down: queue counts are left out and the failure counted', async () => {
    await seedOperatorWorld(ctx.db, 'noredis');
    const { app } = await start({ REDIS_URL: 'redis://127.0.0.1:1' });
    const { samples } = await scrape(app);
    expect(samples.filter((s) => s.name === 'dirsync_queue_jobs')).toEqual([]);
    expect(value(samples, 'dirsync_metrics_read_failures_total', { source: 'redis' })).toBe(1);
    expect(samples.some((s) => s.name === 'dirsync_inbox_pending_events')).toBe(true);
  });
});
