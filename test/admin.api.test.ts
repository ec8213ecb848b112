import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../api/server.ts';
import { withOverrides } from '../common/config.ts';
import { QUEUES } from '../common/queues.ts';
import { openResources, type Resources } from '../common/resources.ts';
import { findEvent, insertEvents } from '../db/repositories/inbox.repository.ts';
import { useTestContext } from './support/context.ts';
import { DEAD_ERROR, type OperatorWorld, seedOperatorWorld } from './support/operator-fixtures.ts';
import { findOrganization } from './support/organizations.ts';

const ctx = useTestContext('admin_api');
const TOKEN = 'admin-token-0123456789abcdef';
const authorization = `Bearer ${TOKEN}`;

let resources: Resources;
let app: FastifyInstance;
let world: OperatorWorld;

// One server for the file, opened in beforeAll (so the leak check holds it to the
// end of the file, not of each test) and closed in afterAll.
beforeAll(async () => {
  resources = ctx.track(
    'resources',
    openResources(
      withOverrides(ctx.config, { ADMIN_TOKEN: TOKEN, WORKOS_API_KEY: 'sk_test_admin_api' }),
      ctx.logger,
    ),
  );
  app = ctx.track('server', await buildServer(resources));
  world = await seedOperatorWorld(ctx.db);
});
afterAll(async () => {
  await app?.close();
  await resources?.close();
});

const get = (url: string) => app.inject({ url, headers: { authorization } });
const post = (url: string) => app.inject({ method: 'POST', url, headers: { authorization } });

/** The operator actions in the audit log of an organization, oldest first. */
async function operatorAudit(organizationId: string) {
  const rows = await ctx.db
    .selectFrom('audit_log')
    .select(['action', 'subject_id', 'detail', 'id'])
    .where('organization_id', '=', organizationId)
    .where('event_id', 'like', 'operator\\_%')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    action: r.action,
    subject_id: r.subject_id,
    actor: r.detail.actor,
    via: r.detail.via,
  }));
}

async function waitingJobs(queue: 'drain' | 'reconcile') {
  const q = ctx.track(
    'queue',
    new Queue(QUEUES[queue], {
      connection: resources.redis,
      prefix: ctx.config.REDIS_PREFIX,
    }),
  );
  try {
    const jobs = await q.getJobs(['waiting', 'delayed', 'prioritized']);
    return jobs.map((j) => ({ name: j.name, data: j.data as Record<string, unknown> }));
  } finally {
    await q.close();
  }
}

describe('admin API: status', () => {
  it('lists organizations needing attention first, with backlog, dead events and seats', async () => {
    const res = await get('/admin/api/organizations');
    expect(res.statusCode).toBe(200);
    const body = res.json() as {
      total: number;
      organizations: Array<Record<string, unknown>>;
      poll: unknown[];
    };
    const ours = body.organizations.filter((o) =>
      [world.healthy, world.failing, world.paused].includes(o.organizationId as string),
    );
    expect(ours.map((o) => o.organizationId)).toEqual([world.paused, world.failing, world.healthy]);
    const [paused, failing, healthy] = ours;
    expect(paused).toMatchObject({ pending: 2, dead: 0, paused: true, activeSeats: 0 });
    expect(paused?.oldestPendingAgeSeconds).toBeGreaterThanOrEqual(599);
    expect(paused?.oldestPendingAgeSeconds).toBeLessThan(700);
    expect(failing).toMatchObject({
      pending: 0,
      dead: 1,
      paused: false,
      oldestPendingAt: null,
      oldestPendingAgeSeconds: null,
      lastAppliedEventId: expect.stringMatching(/^event_f0_/),
    });
    expect(healthy).toMatchObject({ pending: 0, dead: 0, activeSeats: 2, pausedAt: null });
    expect(typeof healthy?.lastAppliedAt).toBe('string');
    expect(body.total).toBeGreaterThanOrEqual(3);
    expect(body.poll).toEqual([]);
  });

  it('answers one organization with the last Events API poll, or 404 for an unknown one', async () => {
    const res = await get(`/admin/api/organizations/${world.failing}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      organizationId: world.failing,
      dead: 1,
      lastPolledAt: null,
    });
    const polledAt = new Date(Date.now() - 5_000);
    await ctx.db
      .insertInto('poll_cursors')
      .values([
        { name: 'workos_events', cursor: 'event_x', polled_at: polledAt },
        { name: 'older_reader', cursor: 'event_y', polled_at: new Date(Date.now() - 60_000) },
      ])
      .execute();
    try {
      const polled = await get(`/admin/api/organizations/${world.failing}`);
      expect(polled.json()).toMatchObject({ lastPolledAt: polledAt.toISOString() });
    } finally {
      await ctx.db.deleteFrom('poll_cursors').execute();
    }
    const unknown = await get('/admin/api/organizations/org_nobody');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({
      error: { code: 'not_found', message: 'unknown organization org_nobody' },
    });
  });

  it('lists dead events with their errors, never their payloads', async () => {
    const res = await get(`/admin/api/dead-events?organization=${world.failing}`);
    expect(res.statusCode).toBe(200);
    const { events } = res.json() as { events: Array<Record<string, unknown>> };
    expect(events).toEqual([
      expect.objectContaining({
        eventId: world.failingEventId,
        organizationId: world.failing,
        eventType: 'dsync.user.updated',
        attempts: 5,
        lastError: DEAD_ERROR,
      }),
    ]);
    expect(events[0]).not.toHaveProperty('payload');
    expect((await get('/admin/api/dead-events?organization=org_nobody')).statusCode).toBe(404);
    expect((await get('/admin/api/dead-events?limit=0')).statusCode).toBe(400);
  });

  it('serves the status page with each organization and a link to the queue dashboard', async () => {
    const res = await get('/admin');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('href="/admin/queues"');
    expect(res.body).toContain(`data-organization="${world.failing}"`);
    expect(res.body).toContain(world.failingEventId);
    expect(res.body).not.toContain(DEAD_ERROR);
  });
});

describe('admin status page: escaping', () => {
  it('escapes organization ids, event ids and event types (they come from the provider)', async () => {
    const hostile = (what: string) => `${what}_"><script>alert("${what}")</script>`;
    const organizationId = hostile('org');
    const eventId = hostile('event');
    const eventType = hostile('dsync.type');
    await ctx.db
      .insertInto('organizations')
      .values({ id: organizationId, last_applied_event_id: hostile('applied') })
      .execute();
    await insertEvents(ctx.db, [
      {
        eventId,
        organizationId,
        eventType,
        occurredAt: new Date(),
        source: 'webhook',
        payload: '{}',
        status: 'dead',
        lastError: 'x',
      },
    ]);
    const res = await get('/admin');
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('<script>');
    expect(res.body).not.toMatch(/"><script/);
    const escaped = (v: string) =>
      v
        .replaceAll('&', '&amp;')
        .replaceAll('"', '&quot;')
        .replaceAll('<', '&lt;')
        .replaceAll('>', '&gt;');
    expect(res.body).toContain(`data-organization="${escaped(organizationId)}"`);
    expect(res.body).toContain(`<code>${escaped(organizationId)}</code>`);
    expect(res.body).toContain(`<code>${escaped(eventId)}</code>`);
    expect(res.body).toContain(`<td>${escaped(eventType)}</td>`);
    // The organization's own page: its last applied event too.
    const own = await get(`/admin/organizations/${encodeURIComponent(organizationId)}`);
    expect(own.statusCode).toBe(200);
    expect(own.body).not.toContain('<script>');
    expect(own.body).toContain(`<code>${escaped(organizationId)}</code>`);
    expect(own.body).toContain(escaped(hostile('applied')));
  });
});

describe('admin API: actions', () => {
  it('replays one dead event and triggers its organization', async () => {
    const w = await seedOperatorWorld(ctx.db, 'replay');
    const res = await post(`/admin/api/events/${w.failingEventId}/replay`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      eventId: w.failingEventId,
      organizationId: w.failing,
      previousStatus: 'dead',
      triggered: true,
    });
    expect(await findEvent(ctx.db, w.failingEventId)).toMatchObject({
      status: 'pending',
      attempts: 0,
      last_error: null,
      source: 'replay',
    });
    expect(await waitingJobs('drain')).toContainEqual({
      name: 'drain-organization',
      data: { organizationId: w.failing },
    });
  });

  it('answers 404 for an unknown event and 409 for an ignored one', async () => {
    const unknown = await post('/admin/api/events/event_nobody/replay');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: { code: 'not_found' } });
    const ignored = await post(`/admin/api/events/${world.ignoredEventId}/replay`);
    expect(ignored.statusCode).toBe(409);
    expect(ignored.json()).toMatchObject({ error: { code: 'conflict' } });
    expect(await findEvent(ctx.db, world.ignoredEventId)).toMatchObject({ status: 'ignored' });
  });

  it('replays every dead event of an organization', async () => {
    const w = await seedOperatorWorld(ctx.db, 'replaydead');
    const res = await post(`/admin/api/organizations/${w.failing}/replay-dead`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      organizationId: w.failing,
      eventIds: [w.failingEventId],
      triggered: true,
      paused: false,
    });
    const again = await post(`/admin/api/organizations/${w.failing}/replay-dead`);
    expect(again.json()).toEqual({
      organizationId: w.failing,
      eventIds: [],
      triggered: false,
      paused: false,
    });
    expect((await post('/admin/api/organizations/org_nobody/replay-dead')).statusCode).toBe(404);
  });

  it('pauses and resumes an organization; resuming triggers a drain', async () => {
    const w = await seedOperatorWorld(ctx.db, 'pause');
    const paused = await post(`/admin/api/organizations/${w.healthy}/pause`);
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({
      organizationId: w.healthy,
      paused: true,
      pausedAt: expect.any(String),
    });
    expect((await findOrganization(ctx.db, w.healthy))?.paused_at).toBeInstanceOf(Date);

    const resumed = await post(`/admin/api/organizations/${w.paused}/resume`);
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json()).toMatchObject({
      organizationId: w.paused,
      paused: false,
      pausedAt: null,
      triggered: true,
    });
    expect(await waitingJobs('drain')).toContainEqual({
      name: 'drain-organization',
      data: { organizationId: w.paused },
    });
    expect((await post('/admin/api/organizations/org_nobody/pause')).statusCode).toBe(404);
    expect((await post('/admin/api/organizations/org_nobody/resume')).statusCode).toBe(404);
    expect(await findOrganization(ctx.db, 'org_nobody')).toBeUndefined();
    expect(await operatorAudit(w.healthy)).toEqual([
      { action: 'organization_paused', subject_id: w.healthy, actor: 'admin', via: 'admin_api' },
    ]);
    expect(await operatorAudit(w.paused)).toEqual([
      { action: 'organization_resumed', subject_id: w.paused, actor: 'admin', via: 'admin_api' },
    ]);
  });

  it('names the operator of a named credential (ADMIN_TOKENS) in the audit log', async () => {
    const named = ctx.track(
      'resources',
      openResources(
        withOverrides(ctx.config, {
          ADMIN_TOKEN: TOKEN,
          ADMIN_TOKENS: [{ name: 'alice', token: 'alice-token-0123456789abcdef' }],
        }),
        ctx.logger,
      ),
    );
    const server = ctx.track('server', await buildServer(named));
    try {
      const w = await seedOperatorWorld(ctx.db, 'named');
      const asAlice = await server.inject({
        method: 'POST',
        url: `/admin/api/organizations/${w.healthy}/pause`,
        headers: { authorization: 'Bearer alice-token-0123456789abcdef' },
      });
      expect(asAlice.statusCode).toBe(200);
      // Basic auth: the user name typed is not the operator; the token is.
      const basic = Buffer.from('mallory:alice-token-0123456789abcdef').toString('base64');
      const replay = await server.inject({
        method: 'POST',
        url: `/admin/api/events/${w.failingEventId}/replay`,
        headers: { authorization: `Basic ${basic}`, 'sec-fetch-site': 'same-origin' },
      });
      expect(replay.statusCode).toBe(200);
      expect(await operatorAudit(w.healthy)).toEqual([
        { action: 'organization_paused', subject_id: w.healthy, actor: 'alice', via: 'admin_api' },
      ]);
      expect(await operatorAudit(w.failing)).toEqual([
        {
          action: 'event_replayed',
          subject_id: w.failingEventId,
          actor: 'alice',
          via: 'admin_api',
        },
      ]);
      const wrong = await server.inject({
        url: '/admin/api/organizations',
        headers: { authorization: 'Bearer bob-token-0123456789abcdef' },
      });
      expect(wrong.statusCode).toBe(401);
    } finally {
      await server.close();
      await named.close();
    }
  });

  it('queues one resync (reconcile job) per organization, however often asked', async () => {
    const first = await post(`/admin/api/organizations/${world.healthy}/resync`);
    expect(first.statusCode).toBe(202);
    expect(first.json()).toMatchObject({ organizationId: world.healthy, queued: true });
    await post(`/admin/api/organizations/${world.healthy}/resync`);
    const reconciles = (await waitingJobs('reconcile')).filter(
      (j) => j.name === 'reconcile' && j.data.organizationId === world.healthy,
    );
    expect(reconciles).toEqual([{ name: 'reconcile', data: { organizationId: world.healthy } }]);
    expect((await post('/admin/api/organizations/org_nobody/resync')).statusCode).toBe(404);
  });

  it('refuses a resync with 503 not_configured without WORKOS_API_KEY, and queues nothing', async () => {
    const w = await seedOperatorWorld(ctx.db, 'nokey');
    const keyless = ctx.openResources({ ADMIN_TOKEN: TOKEN, WORKOS_API_KEY: undefined });
    const server = ctx.track('server', await buildServer(keyless));
    try {
      const res = await server.inject({
        method: 'POST',
        url: `/admin/api/organizations/${w.healthy}/resync`,
        headers: { authorization },
      });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({
        error: {
          code: 'not_configured',
          message: 'WORKOS_API_KEY is not set: resync needs the WorkOS directory API',
        },
      });
    } finally {
      await server.close();
      await keyless.close();
    }
    const reconciles = (await waitingJobs('reconcile')).filter(
      (j) => j.data.organizationId === w.healthy,
    );
    expect(reconciles).toEqual([]);
  });
});

describe('admin API without Redis', () => {
  it('still replays (the sweeper triggers later) and answers 503 to a resync', async () => {
    const w = await seedOperatorWorld(ctx.db, 'noredis');
    const down = ctx.openResources({
      ADMIN_TOKEN: TOKEN,
      WORKOS_API_KEY: 'sk_test_admin_api',
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    const server = ctx.track('server', await buildServer(down));
    try {
      const replay = await server.inject({
        method: 'POST',
        url: `/admin/api/events/${w.failingEventId}/replay`,
        headers: { authorization },
      });
      expect(replay.statusCode).toBe(200);
      expect(replay.json()).toMatchObject({ eventId: w.failingEventId, triggered: false });
      expect(await findEvent(ctx.db, w.failingEventId)).toMatchObject({ status: 'pending' });
      const resync = await server.inject({
        method: 'POST',
        url: `/admin/api/organizations/${w.healthy}/resync`,
        headers: { authorization },
      });
      expect(resync.statusCode).toBe(503);
      expect(resync.json()).toMatchObject({ error: { code: 'unavailable' } });
    } finally {
      await server.close();
      await down.close();
    }
  });
});
