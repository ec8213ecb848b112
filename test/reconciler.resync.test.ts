// Reconciliation against the fake WorkOS, applied by the real drain: a database that
// drifted (webhooks lost: a user deleted upstream, one changed, memberships moved, a
// user and a group created) is repaired by a resync; a dry run reports the same
// difference and changes nothing; a second resync finds nothing to do.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerDrain } from '../common/triggers.ts';
import type { Service } from '../service.ts';
import {
  reconcileOrganization,
  UnknownOrganizationError,
} from '../worker/reconciler/reconcile-organization.ts';
import { databaseShape, drained, upstreamShape } from './fake-workos/compare.ts';
import { seedWorld, type World } from './fake-workos/seed.ts';
import { type FakeWorkOS, startFakeWorkOS } from './fake-workos/server.ts';
import { useTestContext } from './support/context.ts';
import { storeEvents } from './support/events.ts';
import { FAST_RETRY, waitFor } from './support/workos.ts';

const ctx = useTestContext('reconciler.resync');
const ORG = 'org_drift';
let fake: FakeWorkOS;
let service: Service;
let world: World;

async function settle() {
  await waitFor('the drain to apply every event', () => drained(ctx.db, ORG));
}

/**
 * Everything the application can see and the drain could be asked to do, to show a
 * dry run changed nothing: every table, the poll cursors, the drain queue's jobs.
 */
async function everything() {
  const tables = [
    'inbox',
    'directories',
    'users',
    'groups',
    'group_memberships',
    'sessions',
    'audit_log',
    'organizations',
    'poll_cursors',
  ] as const;
  const out: Record<string, unknown> = {};
  for (const table of tables) {
    out[table] = (await sql`select * from ${sql.table(table)} order by 1`.execute(ctx.db)).rows;
  }
  out.drainQueue = await service.resources.drainQueue.getJobCounts();
  return out;
}

/** No drain job waiting or running, so the queue's counts are at rest. */
async function drainQueueIdle() {
  const counts = await service.resources.drainQueue.getJobCounts(
    'active',
    'waiting',
    'delayed',
    'prioritized',
    'waiting-children',
  );
  return Object.values(counts).every((n) => n === 0);
}

beforeAll(async () => {
  fake = await startFakeWorkOS({ directoryUsersPerSecond: 4 });
  world = seedWorld(fake.store, ORG, { users: 6, groups: 2 });
  // Polling off: this deployment relies on webhooks, and some are about to be lost.
  service = await ctx.startService(
    { api: false, worker: true },
    { ...fake.env, WORKOS_POLL_INTERVAL_MS: 0, WORKER_METRICS_PORT: 0 },
  );
  await storeEvents(ctx.db, world.events, 'webhook');
  await triggerDrain(service.resources.drainQueue, ORG);
  await settle();
  expect(await databaseShape(ctx.db, ORG)).toEqual(upstreamShape(fake.store, ORG));
});
afterAll(async () => {
  await service.stop();
  await fake.close();
});

describe('resync', () => {
  it('repairs a database that drifted while webhooks were lost; a dry run first changes nothing', async () => {
    const [u0, u1, u2, u3] = world.users;
    const [g0, g1] = world.groups;
    // u0 has a session: deprovisioning must revoke it.
    const row = await ctx.db
      .selectFrom('users')
      .select('id')
      .where('directory_user_id', '=', u0!.id)
      .executeTakeFirstOrThrow();
    await ctx.db.insertInto('sessions').values({ user_id: row.id }).execute();

    // Upstream changes whose webhooks never arrive.
    fake.store.deleteUser(u0!.id);
    fake.store.updateUser(u1!.id, { last_name: 'Changed', role: 'admin' });
    fake.store.updateUser(u2!.id, { state: 'inactive' });
    fake.store.removeUserFromGroup(u3!.id, world.groups[1]!.id);
    fake.store.addUserToGroup(u3!.id, g0!.id);
    const created = fake.store.createUser(world.directoryId).user;
    const newGroup = fake.store.createGroup(world.directoryId, 'New team').group;
    fake.store.addUserToGroup(created.id, newGroup.id);
    fake.store.updateGroup(g1!.id, 'Renamed team');
    expect(await databaseShape(ctx.db, ORG)).not.toEqual(upstreamShape(fake.store, ORG));

    // A poll cursor, as a deployment that also polls would have (polling is off here).
    await ctx.db
      .insertInto('poll_cursors')
      .values({ name: 'workos_events', cursor: world.events.at(-1)!.id, newest_event_at: null })
      .execute();
    await waitFor('the drain queue to be idle', drainQueueIdle);
    const before = await everything();
    expect((before.directories as unknown[]).length).toBe(1);
    const dry = await reconcileOrganization(service.resources, ORG, {
      dryRun: true,
      retry: FAST_RETRY,
    });
    expect(dry).toMatchObject({
      dryRun: true,
      stored: 0,
      stale: 0,
      counts: {
        'dsync.user.deleted': 1,
        'dsync.user.updated': 2,
        'dsync.user.created': 1,
        'dsync.group.created': 1,
        'dsync.group.updated': 1,
        'dsync.group.user_added': 2,
        'dsync.group.user_removed': 1,
      },
    });
    expect(dry.events).toBe(9);
    expect(dry.sample.find((c) => c.subject === u1!.id)).toEqual({
      type: 'dsync.user.updated',
      subject: u1!.id,
      fields: ['last_name', 'role', 'roles'],
    });
    expect(await everything()).toEqual(before);

    const real = await reconcileOrganization(service.resources, ORG, { retry: FAST_RETRY });
    expect(real).toMatchObject({ dryRun: false, events: 9, stored: 9, counts: dry.counts });
    await settle();
    expect(await databaseShape(ctx.db, ORG)).toEqual(upstreamShape(fake.store, ORG));

    const deleted = await ctx.db
      .selectFrom('users')
      .select(['deleted_at', 'state'])
      .where('directory_user_id', '=', u0!.id)
      .executeTakeFirstOrThrow();
    expect(deleted.deleted_at).not.toBeNull();
    const sessions = await ctx.db
      .selectFrom('sessions')
      .select(['revoked_at', 'revoked_reason'])
      .execute();
    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.revoked_at).not.toBeNull();

    const synthetic = await ctx.db
      .selectFrom('inbox')
      .select(['event_id', 'source', 'status'])
      .where('source', '=', 'reconcile')
      .execute();
    expect(synthetic).toHaveLength(9);
    for (const e of synthetic) {
      expect(e.event_id).toMatch(/^event_reconcile_[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(e.status).toBe('applied');
    }
    const org = await ctx.db
      .selectFrom('organizations')
      .selectAll()
      .where('id', '=', ORG)
      .executeTakeFirstOrThrow();
    expect(org.last_reconciled_at).not.toBeNull();
  });

  it('finds nothing to do once in step', async () => {
    const again = await reconcileOrganization(service.resources, ORG, { retry: FAST_RETRY });
    expect(again).toMatchObject({ events: 0, stored: 0, counts: {} });
  });

  it('reconciles on a pool of one connection without waiting on itself (the lease holds none)', async () => {
    const created = fake.store.createUser(world.directoryId).user;
    const resources = ctx.openResources({ ...fake.env, DATABASE_POOL_MAX: 1 });
    try {
      const result = await Promise.race([
        reconcileOrganization(resources, ORG, { retry: FAST_RETRY }),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('the reconciliation waited on its own pool')), 10_000),
        ),
      ]);
      expect(result).toMatchObject({ events: 1, stored: 1 });
      expect(result.sample).toEqual([{ type: 'dsync.user.created', subject: created.id }]);
    } finally {
      await resources.close();
    }
    await triggerDrain(service.resources.drainQueue, ORG);
    await settle();
    expect(await databaseShape(ctx.db, ORG)).toEqual(upstreamShape(fake.store, ORG));
  });

  it('leaves an upstream object older than what the database holds to last-writer-wins', async () => {
    const user = world.users[4]!;
    // A newer write reached us than what WorkOS lists (e.g. it is mid-update).
    await ctx.db
      .updateTable('users')
      .set({ last_name: 'Newer', source_updated_at: new Date(Date.now() + 60_000) })
      .where('directory_user_id', '=', user.id)
      .execute();
    const result = await reconcileOrganization(service.resources, ORG, {
      dryRun: true,
      retry: FAST_RETRY,
    });
    expect(result).toMatchObject({ events: 0, stale: 1 });
  });

  it('pages through a large directory and stays under 4 requests/s on /directory_users, retries included', async () => {
    const before = fake.requests.length;
    for (let i = 0; i < 30; i++) fake.store.createUser(world.directoryId);
    // Retried at once (FAST_RETRY): a retry that skipped the limiter would be a fifth
    // request within the second, which the fake (counting failed requests too) refuses.
    fake.inject({ path: '/directory_users', status: 500, times: 2 });
    const result = await reconcileOrganization(service.resources, ORG, {
      dryRun: true,
      retry: FAST_RETRY,
      pageSize: 3,
    });
    expect(result.counts['dsync.user.created']).toBe(30);
    const requests = fake.requests.slice(before).filter((r) => r.path === '/directory_users');
    expect(requests.length).toBeGreaterThanOrEqual(14);
    expect(requests.filter((r) => r.status === 500)).toHaveLength(2);
    expect(requests.filter((r) => r.status === 429)).toEqual([]);
    // Every request sent, whatever its answer, in any one second: at most 4.
    const busiest = Math.max(
      ...requests.map((r) => requests.filter((o) => o.at >= r.at && o.at - r.at < 1000).length),
    );
    expect(busiest).toBeLessThanOrEqual(4);
  });

  it('rejects an organization nobody knows', async () => {
    await expect(
      reconcileOrganization(service.resources, 'org_nobody', { retry: FAST_RETRY }),
    ).rejects.toBeInstanceOf(UnknownOrganizationError);
  });
});
