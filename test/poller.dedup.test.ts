// Webhooks and the Events API poller delivering the same events: each event is
// stored once (deduplicated by id, whichever arrives first) and applied once by the
// drain. Webhooks go through the real endpoint (POST /webhooks/workos, signed as
// WorkOS signs them) of an API process; the poller runs as the worker runs it, a
// BullMQ job scheduler.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPollCursor } from '../db/repositories/poll-cursors.repository.ts';
import type { Service } from '../service.ts';
import { EVENTS_CURSOR } from '../worker/poller/poll-events.ts';
import { databaseShape, drained, upstreamShape } from './fake-workos/compare.ts';
import { seedWorld, type World } from './fake-workos/seed.ts';
import { type FakeWorkOS, startFakeWorkOS } from './fake-workos/server.ts';
import type { WireEvent } from './fake-workos/store.ts';
import { useTestContext } from './support/context.ts';
import { postWebhook } from './support/webhooks.ts';
import { waitFor } from './support/workos.ts';

const ctx = useTestContext('poller.dedup');
const ORG = 'org_dedup';
let fake: FakeWorkOS;
let world: World;
let api: Service;
let worker: Service;
let early: WireEvent[];

/** Posts each event as WorkOS would; returns how many were answered as duplicates. */
async function deliver(events: WireEvent[]): Promise<number> {
  let duplicates = 0;
  for (const event of events) {
    const res = await postWebhook(api.server!, JSON.stringify(event));
    expect(res.statusCode, event.id).toBe(200);
    if ((res.json() as { duplicate: boolean }).duplicate) duplicates += 1;
  }
  return duplicates;
}

/** Audit rows per event id of the organization. */
async function auditRowsByEvent(): Promise<Map<string, number>> {
  const rows = await ctx.db
    .selectFrom('audit_log')
    .select('event_id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('organization_id', '=', ORG)
    .groupBy('event_id')
    .execute();
  return new Map(rows.map((r) => [r.event_id as string, Number(r.n)]));
}

beforeAll(async () => {
  fake = await startFakeWorkOS();
  world = seedWorld(fake.store, ORG, { users: 20, groups: 2 }); // 43 events
  api = await ctx.startService({ api: true, worker: false });
  // Some webhooks arrive before the poller runs at all.
  early = world.events.filter((_, i) => i % 2 === 1);
  expect(await deliver(early)).toBe(0);
  worker = await ctx.startService(
    { api: false, worker: true },
    { ...fake.env, WORKOS_POLL_INTERVAL_MS: 200, WORKER_METRICS_PORT: 0 },
  );
});
afterAll(async () => {
  await worker?.stop();
  await api?.stop();
  await fake.close();
});

describe('webhooks and the poller together', () => {
  it('apply each event once, whichever delivered it first', async () => {
    // Others race the first poll.
    const racing = world.events.filter((_, i) => i % 4 === 0);
    await deliver(racing);
    const last = world.events.at(-1)!.id;
    await waitFor('the scheduled poll to catch up', async () => {
      return (await findPollCursor(ctx.db, EVENTS_CURSOR))?.cursor === last;
    });
    // Webhooks arriving after the poller stored the same events are duplicates.
    const late = world.events.filter((_, i) => i % 3 === 0);
    expect(await deliver(late)).toBe(late.length);
    await waitFor('the drain', () => drained(ctx.db, ORG));

    const rows = await ctx.db
      .selectFrom('inbox')
      .select(['event_id', 'source', 'status'])
      .execute();
    expect(rows).toHaveLength(world.events.length);
    const earlyIds = new Set(early.map((e) => e.id));
    const racingIds = new Set(racing.map((e) => e.id));
    for (const row of rows) {
      expect(row.status).toBe('applied');
      if (earlyIds.has(row.event_id)) expect(row.source).toBe('webhook');
      else if (!racingIds.has(row.event_id)) expect(row.source).toBe('events_api');
    }

    // Applied once: one drain outcome per event; no change recorded twice, and the
    // changes of the history applied once. (Which event records a change can move:
    // an early webhook applied before an older polled event may create the group the
    // older group.created then finds in place.)
    const applied = await worker.resources.metrics.eventsApplied.get();
    const outcomes = applied.values.reduce((sum, v) => sum + v.value, 0);
    expect(outcomes).toBe(world.events.length);
    const changes = await ctx.db
      .selectFrom('audit_log')
      .select(['event_id', 'action', 'subject_type', 'subject_id'])
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('organization_id', '=', ORG)
      .groupBy(['event_id', 'action', 'subject_type', 'subject_id'])
      .execute();
    expect(changes.filter((c) => Number(c.n) !== 1)).toEqual([]);
    const byAction: Record<string, number> = {};
    for (const c of changes) byAction[c.action] = (byAction[c.action] ?? 0) + 1;
    expect(byAction).toEqual({
      directory_activated: 1,
      group_created: 2,
      user_provisioned: 20,
      membership_added: 20,
    });
    const events = new Set(world.events.map((e) => e.id));
    expect(changes.filter((c) => !events.has(c.event_id as string))).toEqual([]);
    const users = await ctx.db
      .selectFrom('users')
      .select(['state', 'deleted_at'])
      .where('organization_id', '=', ORG)
      .execute();
    expect(users).toHaveLength(20);
    expect(users.every((u) => u.state === 'active' && u.deleted_at === null)).toBe(true);
    expect(await databaseShape(ctx.db, ORG)).toEqual(upstreamShape(fake.store, ORG));
  });

  it('later events reach the database through the schedule alone, and a late webhook changes nothing', async () => {
    const renamed = fake.store.updateUser(world.users[5]!.id, { last_name: 'Polled' });
    await waitFor('the poll and the drain', async () => {
      const row = await ctx.db
        .selectFrom('inbox')
        .select('status')
        .where('event_id', '=', renamed.id)
        .executeTakeFirst();
      return row?.status === 'applied';
    });
    expect(await deliver([renamed])).toBe(1);
    await waitFor('the drain', () => drained(ctx.db, ORG));
    // Applied once, in order: one audit row.
    expect((await auditRowsByEvent()).get(renamed.id)).toBe(1);
    expect(await databaseShape(ctx.db, ORG)).toEqual(upstreamShape(fake.store, ORG));
    // What dirsync_poll_lag_seconds is read from at scrape time.
    const cursor = await findPollCursor(ctx.db, EVENTS_CURSOR);
    expect(cursor?.newest_event_at?.getTime()).toBeGreaterThanOrEqual(
      Date.parse(renamed.created_at),
    );
  });
});
