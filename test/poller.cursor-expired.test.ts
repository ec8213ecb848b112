// A saved cursor older than the Events API keeps (the worker was off for more than
// 30 days): WorkOS refuses the `after` (the fake answers 422), which used to fail
// every poll for good. The poll alerts, queues a reconciliation of every
// organization and restarts from range_start; the reconciliation repairs what the
// lost events changed.
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../common/logger.ts';
import { QUEUES } from '../common/queues.ts';
import { reconcileJobId, triggerDrain } from '../common/triggers.ts';
import { findPollCursor } from '../db/repositories/poll-cursors.repository.ts';
import type { Service } from '../service.ts';
import { EVENTS_CURSOR, pollEvents } from '../worker/poller/poll-events.ts';
import { databaseShape, drained, upstreamShape } from './fake-workos/compare.ts';
import { seedWorld, type World } from './fake-workos/seed.ts';
import { type FakeWorkOS, startFakeWorkOS } from './fake-workos/server.ts';
import { FakeWorkOSStore } from './fake-workos/store.ts';
import { useTestContext } from './support/context.ts';
import { storeEvents } from './support/events.ts';
import { FAST_RETRY, waitFor } from './support/workos.ts';

const ctx = useTestContext('poller.cursor-expired');
const ORG = 'org_expired';
const DAY = 24 * 3600 * 1000;
const clock = { now: Date.now() - 40 * DAY };
let fake: FakeWorkOS;
let service: Service;
let world: World;

beforeAll(async () => {
  fake = await startFakeWorkOS({ store: new FakeWorkOSStore({ now: () => clock.now }) });
  // Polling is off in the service: the test runs the polls; its worker drains and
  // runs the reconcile queue's job.
  service = await ctx.startService(
    { api: false, worker: true },
    { ...fake.env, WORKOS_POLL_INTERVAL_MS: 0, WORKER_METRICS_PORT: 0 },
  );
  // 40 days ago: the organization's history, polled and applied; the cursor stops there.
  world = seedWorld(fake.store, ORG, { users: 4, groups: 1 });
  await storeEvents(ctx.db, world.events, 'events_api');
  const last = world.events.at(-1)!;
  await ctx.db
    .insertInto('poll_cursors')
    .values({
      name: EVENTS_CURSOR,
      cursor: last.id,
      newest_event_at: new Date(last.created_at),
      polled_at: new Date(clock.now),
    })
    .execute();
  await triggerDrain(service.resources.drainQueue, ORG);
  await waitFor('the history to be applied', () => drained(ctx.db, ORG));
});
afterAll(async () => {
  await service.stop();
  await fake.close();
});

describe('a cursor older than the Events API keeps', () => {
  it('alerts, queues a reconciliation of every organization and restarts from range_start', async () => {
    // 35 days ago, while the worker was off: a user joins, another leaves.
    clock.now = Date.now() - 35 * DAY;
    const joined = fake.store.createUser(world.directoryId).user;
    fake.store.deleteUser(world.users[0]!.id);
    // Yesterday: a change still within the API's retention.
    clock.now = Date.now() - DAY;
    const recent = fake.store.updateUser(world.users[1]!.id, { last_name: 'Recent' });
    clock.now = Date.now();
    // The API keeps 30 days: the cursor's event, and those after it, are gone.
    expect(fake.store.expireEvents(Date.now() - 30 * DAY)).toBe(world.events.length + 2);

    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ LOG_LEVEL: 'info' }, 'test', {
      write: (line: string) => lines.push(JSON.parse(line)),
    });
    const requestsBefore = fake.requests.length;
    const result = await pollEvents({ ...service.resources, logger }, { retry: FAST_RETRY });
    expect(result).toMatchObject({ status: 'done', cursorExpired: true, inserted: 1 });

    // The poller's own requests: the reconciliation it queues may read /directories
    // meanwhile.
    const [refused, restarted] = fake.requests
      .slice(requestsBefore)
      .filter((r) => r.path === '/events');
    expect(refused).toMatchObject({ status: 422, query: { after: world.events.at(-1)!.id } });
    expect(restarted?.status).toBe(200);
    expect(restarted?.query.after).toBeUndefined();
    expect(restarted?.query.range_start).toBeDefined();
    expect(lines.filter((l) => l.alert === 'poll_cursor_expired')).toHaveLength(1);
    expect((await findPollCursor(ctx.db, EVENTS_CURSOR))?.cursor).toBe(recent.id);

    // The reconciliation (queued, then run by the worker) repairs what the lost
    // events changed: the joiner is provisioned, the leaver deprovisioned.
    await waitFor('the reconciliation and its drain', async () => {
      const users = await ctx.db
        .selectFrom('users')
        .select(['directory_user_id', 'deleted_at'])
        .where('organization_id', '=', ORG)
        .execute();
      const live = new Set(users.filter((u) => !u.deleted_at).map((u) => u.directory_user_id));
      return live.has(joined.id) && !live.has(world.users[0]!.id) && (await drained(ctx.db));
    });
    expect(await databaseShape(ctx.db, ORG)).toEqual(upstreamShape(fake.store, ORG));
    const queue = ctx.track(
      'queue',
      new Queue(QUEUES.reconcile, {
        connection: service.resources.redis,
        prefix: ctx.config.REDIS_PREFIX,
      }),
    );
    try {
      const reconciles = async () =>
        (await queue.getJobs(['completed'])).filter((j) => j.name === 'reconcile');
      await waitFor('the reconcile job to complete', async () => (await reconciles()).length > 0);
      const reconcile = await reconciles();
      expect(reconcile).toHaveLength(1);
      expect(reconcile[0]?.data).toEqual({});
      expect(reconcile[0]?.opts.deduplication?.id).toBe(reconcileJobId());
    } finally {
      await queue.close();
    }
  });

  it('polls on normally from the new cursor, without alerting again', async () => {
    const renamed = fake.store.updateUser(world.users[2]!.id, { last_name: 'Later' });
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ LOG_LEVEL: 'info' }, 'test', {
      write: (line: string) => lines.push(JSON.parse(line)),
    });
    const result = await pollEvents({ ...service.resources, logger }, { retry: FAST_RETRY });
    expect(result).toMatchObject({ status: 'done', cursorExpired: false, inserted: 1 });
    expect(result.cursor).toBe(renamed.id);
    expect(lines.filter((l) => l.alert)).toEqual([]);
  });

  it('keeps a recent cursor the API refuses, fails the poll, and alerts no expiry', async () => {
    const before = await findPollCursor(ctx.db, EVENTS_CURSOR);
    await ctx.db
      .updateTable('poll_cursors')
      .set({ cursor: 'event_unknown_to_the_api', newest_event_at: new Date(Date.now() - DAY) })
      .where('name', '=', EVENTS_CURSOR)
      .execute();
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ LOG_LEVEL: 'info' }, 'test', {
      write: (line: string) => lines.push(JSON.parse(line)),
    });
    await expect(
      pollEvents({ ...service.resources, logger }, { retry: FAST_RETRY }),
    ).rejects.toThrow();
    expect((await findPollCursor(ctx.db, EVENTS_CURSOR))?.cursor).toBe('event_unknown_to_the_api');
    expect(lines.filter((l) => l.alert === 'poll_cursor_expired')).toEqual([]);
    await ctx.db
      .updateTable('poll_cursors')
      .set({ cursor: before!.cursor, newest_event_at: before!.newest_event_at })
      .where('name', '=', EVENTS_CURSOR)
      .execute();
  });
});
