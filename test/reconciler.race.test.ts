// The reconciler against changes made while it reads: WorkOS is read first (slowly,
// 4 requests/s per directory), the database afterwards. A user, a group and
// memberships created upstream after their pages were read, whose webhooks were
// applied before the database was read, are here and not in the read. They must not
// be taken for gone upstream: that deprovisioned a user who had just joined, for
// good (the next read's upstream object, older than the synthetic deletion, lost).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerDrain } from '../common/triggers.ts';
import type { Service } from '../service.ts';
import { reconcileOrganization } from '../worker/reconciler/reconcile-organization.ts';
import { databaseShape, drained, upstreamShape } from './fake-workos/compare.ts';
import { seedWorld, type World } from './fake-workos/seed.ts';
import { type FakeWorkOS, startFakeWorkOS } from './fake-workos/server.ts';
import type { WireEvent } from './fake-workos/store.ts';
import { useTestContext } from './support/context.ts';
import { storeEvents } from './support/events.ts';
import { FAST_RETRY, waitFor } from './support/workos.ts';

const ctx = useTestContext('reconciler.race');
const ORG = 'org_race';
let fake: FakeWorkOS;
let service: Service;
let world: World;

/** Delivers events as webhooks would and waits until the drain has applied them. */
async function deliver(events: WireEvent[]) {
  await storeEvents(ctx.db, events, 'webhook');
  await triggerDrain(service.resources.drainQueue, ORG);
  await waitFor('the webhooks to be applied', () => drained(ctx.db, ORG));
}

async function userRow(directoryUserId: string) {
  return ctx.db
    .selectFrom('users')
    .select(['id', 'state', 'deleted_at'])
    .where('directory_user_id', '=', directoryUserId)
    .executeTakeFirstOrThrow();
}

beforeAll(async () => {
  fake = await startFakeWorkOS();
  world = seedWorld(fake.store, ORG, { users: 3, groups: 2 });
  service = await ctx.startService(
    { api: false, worker: true },
    { ...fake.env, WORKOS_POLL_INTERVAL_MS: 0, WORKER_METRICS_PORT: 0 },
  );
  await deliver(world.events);
  expect(await databaseShape(ctx.db, ORG)).toEqual(upstreamShape(fake.store, ORG));
});
afterAll(async () => {
  await service.stop();
  await fake.close();
});

describe('resync while the directory changes', () => {
  it('keeps what was created upstream after its page was read and applied before the database was', async () => {
    const [u0] = world.users;
    const [, g1] = world.groups;
    let joined: string | undefined;
    let team: string | undefined;
    // The users page is computed, then (before it is sent) the world moves on and
    // its webhooks are applied: the page does not have the newcomers.
    fake.beforeReply = async (request) => {
      if (request.path !== '/directory_users' || joined) return;
      const created = fake.store.createUser(world.directoryId);
      const group = fake.store.createGroup(world.directoryId, 'Joined during the read');
      joined = created.user.id;
      team = group.group.id;
      await deliver([
        created.event,
        group.event,
        fake.store.addUserToGroup(created.user.id, group.group.id),
        fake.store.addUserToGroup(u0!.id, g1!.id),
      ]);
      // The newcomer signs in.
      const row = await userRow(created.user.id);
      await ctx.db.insertInto('sessions').values({ user_id: row.id }).execute();
    };
    let result: Awaited<ReturnType<typeof reconcileOrganization>>;
    try {
      result = await reconcileOrganization(service.resources, ORG, { retry: FAST_RETRY });
    } finally {
      fake.beforeReply = undefined;
    }
    expect(joined).toBeDefined();
    // Nothing deleted or removed: the user, the group and both memberships are newer
    // than the read, left to their own events (and the next resync).
    expect(result).toMatchObject({ events: 0, stored: 0, deferred: 4, counts: {} });

    await waitFor('the drain', () => drained(ctx.db, ORG));
    const user = await userRow(joined!);
    expect(user).toMatchObject({ state: 'active', deleted_at: null });
    const sessions = await ctx.db
      .selectFrom('sessions')
      .select(['revoked_at'])
      .where('user_id', '=', user.id)
      .execute();
    expect(sessions).toEqual([{ revoked_at: null }]);
    const group = await ctx.db
      .selectFrom('groups')
      .select('deleted_at')
      .where('directory_group_id', '=', team!)
      .executeTakeFirstOrThrow();
    expect(group.deleted_at).toBeNull();
    expect(await databaseShape(ctx.db, ORG)).toEqual(upstreamShape(fake.store, ORG));
  });

  it('the next resync sees them upstream and finds nothing to do (none is stale)', async () => {
    const again = await reconcileOrganization(service.resources, ORG, { retry: FAST_RETRY });
    expect(again).toMatchObject({ events: 0, stale: 0, deferred: 0 });
  });

  it('still deprovisions a user gone upstream before the read began, dated when it began', async () => {
    const gone = world.users[2]!;
    fake.store.deleteUser(gone.id); // its webhook is lost
    const firstRequest = fake.requests.length;
    fake.inject({ path: '/directory_users', delayMs: 300 }); // a read that takes a while
    const result = await reconcileOrganization(service.resources, ORG, { retry: FAST_RETRY });
    const readEnded = Date.now();
    expect(result).toMatchObject({ stored: 1, counts: { 'dsync.user.deleted': 1 } });
    await waitFor('the drain', () => drained(ctx.db, ORG));
    expect((await userRow(gone.id)).deleted_at).not.toBeNull();
    const synthetic = await ctx.db
      .selectFrom('inbox')
      .select('occurred_at')
      .where('source', '=', 'reconcile')
      .executeTakeFirstOrThrow();
    // Dated before the read's first request, not when the read ended.
    expect(synthetic.occurred_at.getTime()).toBeLessThanOrEqual(fake.requests[firstRequest]!.at);
    expect(readEnded - synthetic.occurred_at.getTime()).toBeGreaterThanOrEqual(250);
  });

  it('leaves to the next resync a user written within the clock-skew margin before the read', async () => {
    // Gone upstream a moment ago by WorkOS's clock; this host's clock may run ahead of
    // it by up to WORKOS_CLOCK_SKEW_MS, so "before the read began" cannot be told yet.
    const recent = world.users[1]!;
    fake.store.deleteUser(recent.id); // its webhook is lost
    await ctx.db
      .updateTable('users')
      .set({ source_updated_at: new Date(Date.now() - 3_000) })
      .where('directory_user_id', '=', recent.id)
      .execute();
    const skewed = {
      ...service.resources,
      config: { ...service.resources.config, WORKOS_CLOCK_SKEW_MS: 10_000 },
    };
    const deferred = await reconcileOrganization(skewed, ORG, { retry: FAST_RETRY, dryRun: true });
    expect(deferred.events).toBe(0); // the user (and its memberships) deferred, not deleted
    expect(deferred.deferred).toBeGreaterThanOrEqual(1);
    const now = await reconcileOrganization(service.resources, ORG, {
      retry: FAST_RETRY,
      dryRun: true,
    });
    expect(now).toMatchObject({ counts: { 'dsync.user.deleted': 1 } });
  });
});
