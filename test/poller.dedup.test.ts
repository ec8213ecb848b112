// Webhooks and the Events API poller delivering the same events: each event is
// stored once (deduplicated by id, whichever arrives first) and applied once by the
// drain. The poller here runs as the worker runs it: a BullMQ job scheduler.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../common/service.ts';
import { findPollCursor } from '../db/repositories/poll-cursors.repository.ts';
import { EVENTS_CURSOR } from '../worker/poller/poll-events.ts';
import { databaseShape, drained, upstreamShape } from './fake-workos/compare.ts';
import { seedWorld, type World } from './fake-workos/seed.ts';
import { type FakeWorkOS, startFakeWorkOS } from './fake-workos/server.ts';
import { useTestContext } from './support/context.ts';
import { storeEvents } from './support/events.ts';
import { waitFor } from './support/workos.ts';

const ctx = useTestContext('poller.dedup');
const ORG = 'org_dedup';
let fake: FakeWorkOS;
let world: World;
let service: Service;
let early: World['events'];

beforeAll(async () => {
  fake = await startFakeWorkOS();
  world = seedWorld(fake.store, ORG, { users: 20, groups: 2 }); // 43 events
  // Some webhooks arrive before the poller runs at all.
  early = world.events.filter((_, i) => i % 2 === 1);
  expect((await storeEvents(ctx.db, early, 'webhook')).size).toBe(early.length);
  service = await ctx.startService(
    { api: false, worker: true },
    { ...fake.env, WORKOS_POLL_INTERVAL_MS: 200 },
  );
});
afterAll(async () => {
  await service.stop();
  await fake.close();
});

describe('webhooks and the poller together', () => {
  it('apply each event once, whichever delivered it first', async () => {
    const late = world.events.filter((_, i) => i % 3 === 0);
    const last = world.events.at(-1)!.id;
    await waitFor('the scheduled poll to catch up', async () => {
      return (await findPollCursor(ctx.db, EVENTS_CURSOR))?.cursor === last;
    });
    // Webhooks arriving after the poller stored the same events are duplicates.
    expect((await storeEvents(ctx.db, late, 'webhook')).size).toBe(0);
    await waitFor('the drain', () => drained(ctx.db, ORG));

    const rows = await ctx.db
      .selectFrom('inbox')
      .select(['event_id', 'source', 'status'])
      .execute();
    expect(rows).toHaveLength(world.events.length);
    const earlyIds = new Set(early.map((e) => e.id));
    for (const row of rows) {
      expect(row.status).toBe('applied');
      expect(row.source).toBe(earlyIds.has(row.event_id) ? 'webhook' : 'events_api');
    }

    // Applied once: one drain outcome per event, one audit row per change.
    const applied = await service.resources.metrics.eventsApplied.get();
    const outcomes = applied.values.reduce((sum, v) => sum + v.value, 0);
    expect(outcomes).toBe(world.events.length);
    const audit = await ctx.db
      .selectFrom('audit_log')
      .select(['action'])
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .groupBy('action')
      .execute();
    const byAction = Object.fromEntries(audit.map((a) => [a.action, Number(a.n)]));
    expect(byAction).toMatchObject({ user_provisioned: 20, membership_added: 20 });
    expect(await databaseShape(ctx.db, ORG)).toEqual(upstreamShape(fake.store, ORG));
  });

  it('later events reach the database through the schedule alone', async () => {
    const renamed = fake.store.updateUser(world.users[5]!.id, { last_name: 'Polled' });
    await waitFor('the poll and the drain', async () => {
      const row = await ctx.db
        .selectFrom('inbox')
        .select('status')
        .where('event_id', '=', renamed.id)
        .executeTakeFirst();
      return row?.status === 'applied';
    });
    expect(await databaseShape(ctx.db, ORG)).toEqual(upstreamShape(fake.store, ORG));
    // What dirsync_poll_lag_seconds is read from at scrape time.
    const cursor = await findPollCursor(ctx.db, EVENTS_CURSOR);
    expect(cursor?.newest_event_at?.getTime()).toBeGreaterThanOrEqual(
      Date.parse(renamed.created_at),
    );
  });
});
