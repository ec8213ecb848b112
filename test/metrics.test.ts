import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildServer } from '../api/server.ts';
import type { Config } from '../common/config.ts';
import type { Resources } from '../common/resources.ts';
import { triggerDrain } from '../common/triggers.ts';
import { useTestContext } from './support/context.ts';
import { eventId, fixture, type WireEvent } from './support/events.ts';
import { seedOperatorWorld } from './support/operator-fixtures.ts';
import { postWebhook } from './support/webhooks.ts';

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
  const app = ctx.track('server', await buildServer(resources));
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
      Object.fromEntries(
        [...types].filter(
          ([name]) => !name.startsWith('dirsync_process_') && !name.startsWith('dirsync_nodejs_'),
        ),
      ),
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
      dirsync_build_info: 'gauge',
      dirsync_organizations_needing_attention: 'gauge',
      dirsync_inbox_pending_events_all: 'gauge',
      dirsync_inbox_dead_events_all: 'gauge',
      dirsync_organizations_paused: 'gauge',
      dirsync_inbox_oldest_pending_age_seconds_max: 'gauge',
      dirsync_webhook_last_received_timestamp_seconds: 'gauge',
      dirsync_poll_last_received_timestamp_seconds: 'gauge',
    });
    // Node's default metrics under the one prefix.
    expect(types.get('dirsync_process_cpu_seconds_total')).toBe('counter');
    expect(types.get('dirsync_nodejs_heap_size_total_bytes')).toBe('gauge');
    expect(types.has('dirsync_process_process_cpu_seconds_total')).toBe(false);
  });

  it('reports inbox depth, oldest-pending age and dead events per organization, and queue counts', async () => {
    const world = await seedOperatorWorld(ctx.db);
    await ctx.db
      .insertInto('poll_cursors')
      .values({
        name: 'workos_events',
        cursor: 'event_x',
        polled_at: new Date(Date.now() - 42_000),
        newest_event_at: new Date(Date.now() - 90_000),
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
    // Totals over every organization, beside the per-organization series.
    expect(value(samples, 'dirsync_inbox_pending_events_all')).toBe(2);
    expect(value(samples, 'dirsync_inbox_dead_events_all')).toBe(1);
    expect(value(samples, 'dirsync_organizations_paused')).toBe(1);
    expect(value(samples, 'dirsync_organizations_needing_attention')).toBe(2);
    expect(value(samples, 'dirsync_inbox_oldest_pending_age_seconds_max')).toBeGreaterThan(599);
    expect(
      value(samples, 'dirsync_poll_age_seconds', { cursor: 'workos_events' }),
    ).toBeGreaterThanOrEqual(42);
    // Read from the cursor, so the API reports it though another process polled.
    const lag = value(samples, 'dirsync_poll_lag_seconds', { cursor: 'workos_events' });
    expect(lag).toBeGreaterThanOrEqual(90);
    expect(lag).toBeLessThan(120);
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

  it('still answers when Redis is down: queue counts are left out and the failure counted', async () => {
    await seedOperatorWorld(ctx.db, 'noredis');
    const { app } = await start({ REDIS_URL: 'redis://127.0.0.1:1' });
    const { samples } = await scrape(app);
    expect(samples.filter((s) => s.name === 'dirsync_queue_jobs')).toEqual([]);
    expect(value(samples, 'dirsync_metrics_read_failures_total', { source: 'redis' })).toBe(1);
    expect(samples.some((s) => s.name === 'dirsync_inbox_pending_events')).toBe(true);
  });
  it('counts deliveries where the API receives them (real signed webhooks)', async () => {
    const { app } = await start();
    const created = { ...fixture('dsync.user.created'), id: eventId('event_metrics_api') };
    expect((await postWebhook(app, JSON.stringify(created))).statusCode).toBe(200);
    expect((await postWebhook(app, JSON.stringify(created))).statusCode).toBe(200);
    const forged = await postWebhook(app, JSON.stringify(created), { secret: 'whsec_wrong' });
    expect(forged.statusCode).toBe(401);

    const { samples } = await scrape(app);
    expect(value(samples, 'dirsync_webhooks_total', { outcome: 'accepted' })).toBe(1);
    expect(value(samples, 'dirsync_webhooks_total', { outcome: 'duplicate' })).toBe(1);
    expect(
      value(samples, 'dirsync_webhooks_total', { outcome: 'rejected_401', reason: 'mismatch' }),
    ).toBe(1);
    expect(value(samples, 'dirsync_webhook_last_received_timestamp_seconds')).toBeGreaterThan(
      Date.now() / 1000 - 600,
    );
    expect(samples.find((s) => s.name === 'dirsync_build_info')?.labels).toMatchObject({
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
    expect(
      value(samples, 'dirsync_events_ingested_total', { source: 'webhook', result: 'new' }),
    ).toBe(1);
    // Nothing left for the next test's worker to drain and count.
    await ctx.db.deleteFrom('inbox').where('event_id', '=', created.id).execute();
  });
});

/** A free port for a listener whose 0 means "off" rather than "any". */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function fetchMetrics(address: string) {
  const res = await fetch(`${address}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

async function applied(id: string) {
  await expect
    .poll(
      async () =>
        (
          await ctx.db
            .selectFrom('inbox')
            .select('status')
            .where('event_id', '=', id)
            .executeTakeFirst()
        )?.status,
      { timeout: 20_000 },
    )
    .toBe('applied');
}

describe('worker metrics (worker and API in separate processes)', () => {
  it('serves what the drain counts on WORKER_METRICS_PORT: applied events, latencies, revocations', async () => {
    const port = await freePort();
    const worker = await ctx.startService(
      { api: false, worker: true },
      { WORKER_METRICS_PORT: port },
    );
    expect(worker.metricsAddress).toBe(`http://127.0.0.1:${port}`);
    const address = worker.metricsAddress!;
    const { app } = await start();
    try {
      // Through the API, as WorkOS delivers it; the worker drains it.
      const org = `org_metrics_${Date.now().toString(36)}`;
      const user = `directory_user_metrics_${Date.now().toString(36)}`;
      const withIds = (e: WireEvent, id: string): WireEvent => ({
        ...e,
        id,
        data: { ...e.data, id: user, organization_id: org },
      });
      const created = withIds(fixture('dsync.user.created'), eventId('event_metrics_created'));
      expect((await postWebhook(app, JSON.stringify(created))).statusCode).toBe(200);
      await applied(created.id);
      const before = await fetchMetrics(address);
      expect(
        value(before.samples, 'dirsync_events_applied_total', {
          type: 'dsync.user.created',
          outcome: 'applied',
        }),
      ).toBe(1);
      expect(value(before.samples, 'dirsync_apply_batch_seconds_count')).toBeGreaterThanOrEqual(1);
      expect(value(before.samples, 'dirsync_event_to_revocation_seconds_count')).toBe(0);

      // A deprovisioning with two live sessions: revoked, and the latency observed once.
      const row = await ctx.db
        .selectFrom('users')
        .select('id')
        .where('directory_user_id', '=', user)
        .executeTakeFirstOrThrow();
      await ctx.db
        .insertInto('sessions')
        .values([{ user_id: row.id }, { user_id: row.id }])
        .execute();
      const deleted = withIds(fixture('dsync.user.deleted'), eventId('event_metrics_deleted'));
      expect((await postWebhook(app, JSON.stringify(deleted))).statusCode).toBe(200);
      await applied(deleted.id);
      const { samples, types } = await fetchMetrics(address);
      expect(
        value(samples, 'dirsync_events_applied_total', {
          type: 'dsync.user.deleted',
          outcome: 'applied',
        }),
      ).toBe(1);
      expect(value(samples, 'dirsync_event_to_revocation_seconds_count')).toBe(1);
      expect(value(samples, 'dirsync_event_to_revocation_seconds_sum')).toBeGreaterThan(0);
      expect(value(samples, 'dirsync_sessions_revoked_total')).toBe(2);
      expect(types.get('dirsync_dead_events_total')).toBe('counter');
      expect(types.get('dirsync_process_cpu_seconds_total')).toBe('counter');
      // The scrape-time gauges are the API's; the worker does not double them.
      expect(types.has('dirsync_inbox_pending_events')).toBe(false);

      // The API process applied nothing itself.
      const api = await scrape(app);
      expect(api.samples.filter((s) => s.name === 'dirsync_events_applied_total')).toEqual([]);

      const health = await fetch(`${address}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      expect((await fetch(`${address}/admin`)).status).toBe(404);
      expect((await fetch(`${address}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await worker.stop();
    }
    await expect(fetch(`${address}/healthz`)).rejects.toThrow();
  });

  it('opens no port with WORKER_METRICS_PORT=0, nor beside the API in one process', async () => {
    const off = await ctx.startService({ api: false, worker: true }, { WORKER_METRICS_PORT: 0 });
    expect(off.metricsAddress).toBeUndefined();
    await off.stop();
    const port = await freePort();
    const both = await ctx.startService({ api: true, worker: true }, { WORKER_METRICS_PORT: port });
    try {
      expect(both.metricsAddress).toBeUndefined();
      const res = await fetch(`${both.adminAddress}/metrics`);
      const { types } = parsePrometheus(await res.text());
      expect(types.get('dirsync_events_applied_total')).toBe('counter');
      expect(types.get('dirsync_inbox_pending_events')).toBe('gauge');
    } finally {
      await both.stop();
    }
  });
});
