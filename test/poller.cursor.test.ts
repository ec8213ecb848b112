// The Events API poller against the fake WorkOS: pages into the inbox with the
// cursor in the same transaction; resumes after a restart with no gap and no
// duplicate; starts at range_start without a cursor; one poll at a time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvent } from '../common/events.ts';
import { findPollCursor } from '../db/repositories/poll-cursors.repository.ts';
import { drainOrganization } from '../worker/drain/drain-organization.ts';
import { EVENTS_CURSOR, pollEvents } from '../worker/poller/poll-events.ts';
import { databaseShape, drained, upstreamShape } from './fake-workos/compare.ts';
import { seedWorld } from './fake-workos/seed.ts';
import { type FakeWorkOS, startFakeWorkOS } from './fake-workos/server.ts';
import { FakeWorkOSStore } from './fake-workos/store.ts';
import { useTestContext } from './support/context.ts';
import { FAST_RETRY, waitFor } from './support/workos.ts';

const ctx = useTestContext('poller.cursor');
let fake: FakeWorkOS;

beforeAll(async () => {
  fake = await startFakeWorkOS();
  // 1 + 5 groups + 120 users + 120 memberships = 246 events: three pages.
  seedWorld(fake.store, 'org_cursor', { users: 120, groups: 5 });
});
afterAll(async () => {
  await fake.close();
});

async function inboxIds(): Promise<string[]> {
  const rows = await ctx.db.selectFrom('inbox').select('event_id').orderBy('event_id').execute();
  return rows.map((r) => r.event_id);
}

describe('pollEvents', () => {
  it('returns at once when no API key is configured', async () => {
    const resources = ctx.openResources();
    try {
      const result = await pollEvents(resources);
      expect(result.status).toBe('disabled');
      expect(fake.requests).toHaveLength(0);
    } finally {
      await resources.close();
    }
  });

  it('resumes after a restart mid-stream with no gap and no duplicate', async () => {
    // First process: one page, then it "crashes" while fetching the second one.
    const first = ctx.openResources(fake.env);
    try {
      const one = await pollEvents(first, { retry: FAST_RETRY, maxPages: 1 });
      expect(one).toMatchObject({ status: 'done', pages: 1, events: 100, inserted: 100 });
      expect(fake.requests[0]?.query.range_start).toBeDefined();
      expect(fake.requests[0]?.query.after).toBeUndefined();

      // The process dies while the second page is on its way: aborted before the
      // fake sends that answer, so the answer can never arrive first.
      const controller = new AbortController();
      fake.beforeReply = (request) => {
        if (request.path === '/events') controller.abort(new Error('process killed'));
      };
      const crashed = pollEvents(first, { retry: FAST_RETRY, signal: controller.signal });
      await expect(crashed).rejects.toThrow('process killed');
    } finally {
      fake.beforeReply = undefined;
      await first.close();
    }
    const saved = await findPollCursor(ctx.db, EVENTS_CURSOR);
    expect(saved?.cursor).toBe(fake.store.events[99]?.id);
    expect(await inboxIds()).toHaveLength(100);

    // Second process: picks up at the saved cursor.
    const second = ctx.openResources(fake.env);
    try {
      const rest = await pollEvents(second, { retry: FAST_RETRY });
      expect(rest).toMatchObject({ status: 'done', inserted: 146, duplicates: 0 });
      const resumed = fake.requests.filter((r) => r.path === '/events' && r.status === 200).at(1);
      expect(resumed?.query.after).toBe(fake.store.events[99]?.id);
      expect(resumed?.query.range_start).toBeUndefined();
    } finally {
      await second.close();
    }
    expect(await inboxIds()).toEqual(fake.store.events.map((e) => e.id).sort());
    const cursor = await findPollCursor(ctx.db, EVENTS_CURSOR);
    expect(cursor?.cursor).toBe(fake.store.events.at(-1)?.id);
    expect(cursor?.newest_event_at?.toISOString()).toBe(fake.store.events.at(-1)?.created_at);
  });

  it('stores every event in its wire shape, valid for parseEvent, pending, from events_api', async () => {
    const rows = await ctx.db.selectFrom('inbox').selectAll().execute();
    const byId = new Map(fake.store.events.map((e) => [e.id, e]));
    for (const row of rows) {
      expect(row.payload).toEqual(byId.get(row.event_id));
      const parsed = parseEvent(row.payload);
      expect(parsed.kind).toBe('directory');
      expect(row).toMatchObject({
        source: 'events_api',
        status: 'pending',
        organization_id: 'org_cursor',
      });
      expect(row.occurred_at.toISOString()).toBe(byId.get(row.event_id)?.created_at);
    }
  });

  it('re-reading a page after the cursor went back stores nothing twice', async () => {
    await ctx.db.updateTable('poll_cursors').set({ cursor: fake.store.events[149]!.id }).execute();
    const resources = ctx.openResources(fake.env);
    try {
      const again = await pollEvents(resources, { retry: FAST_RETRY });
      expect(again).toMatchObject({ status: 'done', inserted: 0, duplicates: 96 });
    } finally {
      await resources.close();
    }
    expect(await inboxIds()).toHaveLength(fake.store.events.length);
  });

  it('the drain applies every event once, the re-read pages and the restart included', async () => {
    const resources = ctx.openResources();
    try {
      while (!(await drained(ctx.db, 'org_cursor'))) {
        await drainOrganization(resources, 'org_cursor', { log: ctx.logger });
      }
    } finally {
      await resources.close();
    }
    const statuses = await ctx.db
      .selectFrom('inbox')
      .select('status')
      .distinct()
      .where('organization_id', '=', 'org_cursor')
      .execute();
    expect(statuses).toEqual([{ status: 'applied' }]);
    // One audit row per event (each of these events changes one thing), none twice.
    const audit = await ctx.db
      .selectFrom('audit_log')
      .select('event_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .groupBy('event_id')
      .execute();
    expect(audit).toHaveLength(fake.store.events.length);
    expect(audit.filter((a) => Number(a.n) !== 1)).toEqual([]);
    expect(await databaseShape(ctx.db, 'org_cursor')).toEqual(
      upstreamShape(fake.store, 'org_cursor'),
    );
  });

  it('finds nothing new when caught up, and keeps its cursor', async () => {
    const resources = ctx.openResources(fake.env);
    try {
      const before = await findPollCursor(ctx.db, EVENTS_CURSOR);
      const idle = await pollEvents(resources, { retry: FAST_RETRY });
      expect(idle).toMatchObject({ status: 'done', pages: 1, events: 0 });
      const after = await findPollCursor(ctx.db, EVENTS_CURSOR);
      expect(after?.cursor).toBe(before?.cursor);
      expect(after!.polled_at.getTime()).toBeGreaterThanOrEqual(before!.polled_at.getTime());
    } finally {
      await resources.close();
    }
  });

  it('triggers a drain of each organization that got new events', async () => {
    const resources = ctx.openResources(fake.env);
    try {
      await resources.drainQueue.obliterate({ force: true });
      seedWorld(fake.store, 'org_second', { users: 2, groups: 1 });
      const result = await pollEvents(resources, { retry: FAST_RETRY });
      expect(result.inserted).toBe(6);
      const jobs = await resources.drainQueue.getJobs(['waiting', 'prioritized', 'delayed']);
      expect(jobs.map((j) => j.data.organizationId)).toEqual(['org_second']);
    } finally {
      await resources.close();
    }
  });
});

describe('pollEvents without a cursor', () => {
  it('starts at range_start, no older than the lookback, then follows after', async () => {
    const clock = { now: Date.now() - 40 * 24 * 3600 * 1000 };
    const store = new FakeWorkOSStore({ now: () => clock.now });
    store.createDirectory('org_old'); // older than the lookback: never read
    clock.now = Date.now() - 3600 * 1000;
    const world = seedWorld(store, 'org_recent', { users: 1, groups: 1 });
    const local = await startFakeWorkOS({ store });
    await ctx.db.deleteFrom('poll_cursors').execute();
    await ctx.db.deleteFrom('inbox').execute();
    const resources = ctx.openResources({ ...local.env, WORKOS_POLL_LOOKBACK_DAYS: 30 });
    try {
      const result = await pollEvents(resources, { retry: FAST_RETRY });
      expect(result.inserted).toBe(world.events.length);
      const start = Date.parse(local.requests[0]!.query.range_start!);
      expect(Date.now() - start).toBeGreaterThanOrEqual(30 * 24 * 3600 * 1000 - 60_000);
      expect(await inboxIds()).toEqual(world.events.map((e) => e.id).sort());
      // What dirsync_poll_lag_seconds is read from at scrape time.
      const cursor = await findPollCursor(ctx.db, EVENTS_CURSOR);
      expect(cursor?.newest_event_at?.getTime()).toBeLessThan(Date.now());
    } finally {
      await resources.close();
      await local.close();
    }
  });
});

describe('one poll at a time', () => {
  it('a poll that finds another running returns at once', async () => {
    const store = new FakeWorkOSStore();
    seedWorld(store, 'org_lock', { users: 3, groups: 1 });
    const local = await startFakeWorkOS({ store });
    await ctx.db.deleteFrom('poll_cursors').execute();
    const a = ctx.openResources(local.env);
    const b = ctx.openResources(local.env);
    try {
      // The first poll's answer is held until the second poll has returned, so the
      // first one surely holds the lock all the while.
      let secondDone: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        secondDone = resolve;
      });
      local.beforeReply = () => held;
      const slow = pollEvents(a, { retry: FAST_RETRY });
      await waitFor('the first poll to ask for events', () => local.requests.length > 0);
      const second = await pollEvents(b, { retry: FAST_RETRY }).finally(secondDone);
      expect(second.status).toBe('busy');
      expect((await slow).status).toBe('done');
      expect(local.requests.filter((r) => r.path === '/events')).toHaveLength(1);
    } finally {
      await a.close();
      await b.close();
      await local.close();
    }
  });
});

describe('a pool of one connection', () => {
  it('polls on a pool of one connection without waiting on itself (the lease holds none)', async () => {
    const store = new FakeWorkOSStore();
    const world = seedWorld(store, 'org_pool_one', { users: 60, groups: 1 }); // two pages
    const local = await startFakeWorkOS({ store });
    await ctx.db.deleteFrom('poll_cursors').execute();
    const resources = ctx.openResources({ ...local.env, DATABASE_POOL_MAX: 1 });
    try {
      const result = await Promise.race([
        pollEvents(resources, { retry: FAST_RETRY, pageSize: 100 }),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('the poll waited on its own pool')), 10_000),
        ),
      ]);
      expect(result).toMatchObject({ status: 'done', pages: 2, inserted: world.events.length });
      expect((await findPollCursor(ctx.db, EVENTS_CURSOR))?.cursor).toBe(world.events.at(-1)?.id);
    } finally {
      await resources.close();
      await local.close();
    }
  });
});
