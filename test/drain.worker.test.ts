// The drain as it runs in production: triggered through BullMQ, under faults.
import { type Job, Queue, Worker } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../common/logger.ts';
import type { Resources } from '../common/resources.ts';
import { triggerDrain } from '../common/triggers.ts';
import { replayDeadEvents, replayEvent } from '../db/repositories/inbox.repository.ts';
import {
  pauseOrganization,
  resumeOrganization,
} from '../db/repositories/organizations.repository.ts';
import { type DrainResult, drainOrganization } from '../worker/drain/drain-organization.ts';
import { EventFailedError, OrganizationBusyError } from '../worker/drain/errors.ts';
import { sweep } from '../worker/sweeper.ts';
import { isLastAttempt } from '../worker/worker.ts';
import { useTestContext } from './support/context.ts';
import { initialSync, userDeleted } from './support/directory.ts';
import { directoryData, storeEvents, userData, wireEvent } from './support/events.ts';

const ctx = useTestContext('drain_worker');
const log = createLogger({ LOG_LEVEL: 'silent' });
let resources: Resources;

beforeAll(() => {
  resources = ctx.openResources({ EVENT_MAX_ATTEMPTS: 2 });
});
afterAll(async () => {
  await resources.close();
});

const statusOf = async (org: string) =>
  Object.fromEntries(
    (
      await ctx.db
        .selectFrom('inbox')
        .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
        .where('organization_id', '=', org)
        .groupBy('status')
        .execute()
    ).map((r) => [r.status, Number(r.n)]),
  );

/** Drain jobs waiting, delayed or running. */
const drainJobsLeft = async (queue: Queue) =>
  Object.values(await queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized')).reduce(
    (a, b) => a + b,
    0,
  );

/** The result of the next drain of `org` the worker completes. */
function nextDrainOf(worker: Worker, org: string): Promise<DrainResult> {
  return new Promise((resolve) => {
    const onCompleted = (job: Job, result: DrainResult) => {
      if (job.data?.organizationId !== org) return;
      worker.off('completed', onCompleted);
      resolve(result);
    };
    worker.on('completed', onCompleted);
  });
}

describe('drain through BullMQ', () => {
  it('a trigger drains the organization, and a paused one waits until resumed', async () => {
    const service = await ctx.startService({ api: false, worker: true });
    try {
      await storeEvents(
        ctx.db,
        initialSync({ org: 'org_trigger', users: 20, groups: 2, memberships: 10 }),
      );
      await triggerDrain(service.resources.drainQueue, 'org_trigger');
      await expect
        .poll(() => statusOf('org_trigger'), { timeout: 10_000 })
        .toEqual({ applied: 33 });

      // No drain waits or runs any more, so the one seen below is the trigger's.
      await expect.poll(() => drainJobsLeft(service.resources.drainQueue)).toBe(0);
      await pauseOrganization(ctx.db, 'org_trigger');
      await storeEvents(ctx.db, [userDeleted('org_trigger', 3, Date.UTC(2026, 9, 2))]);
      const drained = nextDrainOf(service.worker!.drainWorker, 'org_trigger');
      await triggerDrain(service.resources.drainQueue, 'org_trigger');
      expect(await drained).toMatchObject({ applied: 0, paused: true });
      expect(await statusOf('org_trigger')).toEqual({ applied: 33, pending: 1 });

      await resumeOrganization(ctx.db, 'org_trigger');
      await triggerDrain(service.resources.drainQueue, 'org_trigger');
      await expect
        .poll(() => statusOf('org_trigger'), { timeout: 10_000 })
        .toEqual({ applied: 34 });
    } finally {
      await service.stop();
    }
  });

  it('the sweeper re-triggers pending organizations after Redis lost every key', async () => {
    const service = await ctx.startService({ api: false, worker: true });
    const redis = ctx.redis();
    try {
      await storeEvents(ctx.db, initialSync({ org: 'org_swept', users: 5 }));
      // Redis loses its data (no trigger was ever sent for these events).
      const keys = await redis.keys(`${ctx.config.REDIS_PREFIX}:*`);
      if (keys.length > 0) await redis.del(...keys);
      expect(await sweep(service.resources)).toEqual({ triggered: 1 });
      await expect.poll(() => statusOf('org_swept'), { timeout: 10_000 }).toEqual({ applied: 6 });
    } finally {
      await redis.quit();
      await service.stop();
    }
  });

  it('after Redis is flushed, the sweep scheduler comes back by itself and drains what waits', async () => {
    const service = await ctx.startService(
      { api: false, worker: true },
      { SWEEP_INTERVAL_MS: 1000 },
    );
    const redis = ctx.redis();
    const queue = service.worker!.maintenanceQueue;
    try {
      expect(await queue.getJobScheduler('sweep')).toBeDefined();
      const keys = await redis.keys(`${ctx.config.REDIS_PREFIX}:*`);
      if (keys.length > 0) await redis.del(...keys);
      expect(await queue.getJobScheduler('sweep')).toBeUndefined();
      // Events stored while their triggers are lost: only the sweeper can find them.
      await storeEvents(ctx.db, initialSync({ org: 'org_flushed', users: 3 }));
      await expect.poll(() => queue.getJobScheduler('sweep'), { timeout: 10_000 }).toBeDefined();
      await expect.poll(() => statusOf('org_flushed'), { timeout: 15_000 }).toEqual({ applied: 4 });
    } finally {
      await redis.quit();
      await service.stop();
    }
  });
});

/**
 * Makes Postgres run `plpgsql` (a statement that raises, say) for every write of one
 * directory user's row; returns what removes it again.
 */
async function onUserWrite(name: string, directoryUserId: string, plpgsql: string) {
  // Schema-qualified: no connection has a search_path (DATABASE_URL may be a pooler).
  const schema = ctx.config.DATABASE_SCHEMA;
  await sql
    .raw(`
      create function ${schema}.${name}() returns trigger language plpgsql as $$
      begin
        if new.directory_user_id = '${directoryUserId}' then ${plpgsql} end if;
        return new;
      end $$;
      create trigger ${name} before insert or update on ${schema}.users
        for each row execute function ${schema}.${name}();
    `)
    .execute(ctx.db);
  return () => sql.raw(`drop trigger ${name} on ${schema}.users`).execute(ctx.db);
}

describe('drain failures', () => {
  it('an event failing past the limit is parked as dead; later deprovisioning still goes through; replay applies it', async () => {
    const org = 'org_poison';
    const cure = await onUserWrite(
      'reject_poison',
      'directory_user_poison',
      `raise exception 'poison user rejected';`,
    );
    const directory = `directory_${org}`;
    const t = Date.UTC(2026, 9, 1);
    const events = [
      wireEvent(
        'dsync.activated',
        directoryData({ id: directory, org, updatedAt: t }),
        t,
        'event_p0',
      ),
      wireEvent(
        'dsync.user.created',
        userData({ id: 'directory_user_alice', org, directory, updatedAt: t + 1 }),
        t + 1,
        'event_p1',
      ),
      wireEvent(
        'dsync.user.created',
        userData({ id: 'directory_user_poison', org, directory, updatedAt: t + 2 }),
        t + 2,
        'event_p2',
      ),
      wireEvent(
        'dsync.user.deleted',
        userData({
          id: 'directory_user_alice',
          org,
          directory,
          state: 'inactive',
          updatedAt: t + 3,
        }),
        t + 3,
        'event_p3',
      ),
    ];
    await storeEvents(ctx.db, events);
    const alice = () =>
      ctx.db
        .selectFrom('users')
        .selectAll()
        .where('directory_user_id', '=', 'directory_user_alice')
        .executeTakeFirst();

    // First attempt: the batch fails, the poison event is isolated, counted, retried later.
    await expect(drainOrganization(resources, org, { log })).rejects.toThrow(EventFailedError);
    expect((await alice())?.state).toBe('active');
    const once = await ctx.db
      .selectFrom('inbox')
      .selectAll()
      .where('event_id', '=', 'event_p2')
      .executeTakeFirstOrThrow();
    expect(once).toMatchObject({
      status: 'pending',
      attempts: 1,
      last_error: expect.stringContaining('poison user rejected'),
    });

    // Second attempt reaches the limit: dead, and the organization moves on.
    expect(await drainOrganization(resources, org, { log })).toMatchObject({ dead: 1, applied: 1 });
    expect(
      await ctx.db
        .selectFrom('inbox')
        .select(['status', 'attempts'])
        .where('event_id', '=', 'event_p2')
        .executeTakeFirst(),
    ).toEqual({
      status: 'dead',
      attempts: 2,
    });
    expect(await alice()).toMatchObject({ state: 'inactive', deleted_at: expect.any(Date) });

    // Fixed: replay puts it back; it applies in its place.
    await cure();
    expect(await replayDeadEvents(ctx.db, org)).toEqual(['event_p2']);
    expect(await drainOrganization(resources, org, { log })).toMatchObject({ applied: 1, dead: 0 });
    const poison = await ctx.db
      .selectFrom('users')
      .select('state')
      .where('directory_user_id', '=', 'directory_user_poison')
      .executeTakeFirst();
    expect(poison).toEqual({ state: 'active' });
    expect(await statusOf(org)).toEqual({ applied: 4 });

    // Replaying an applied event is a no-op: no new audit rows.
    const auditBefore = await ctx.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect((await replayEvent(ctx.db, 'event_p1'))?.status).toBe('pending');
    await drainOrganization(resources, org, { log });
    const auditAfter = await ctx.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(auditAfter.n)).toBe(Number(auditBefore.n));
  });

  it('charges a failure to the event that failed, not to an earlier one that arrived meanwhile', async () => {
    const org = 'org_charge';
    const directory = `directory_${org}`;
    // Batches of one: the failing batch's event is charged without a second pass.
    const single = ctx.openResources({ DRAIN_BATCH_SIZE: 1 });
    const t = Date.UTC(2026, 9, 1);
    // The poison user's write waits, then violates a check (a permanent error: dead
    // at once), while a late event dated before it is committed from elsewhere.
    const cure = await onUserWrite(
      'reject_slow_poison',
      'directory_user_slow_poison',
      `perform pg_sleep(1); raise exception 'slow poison rejected' using errcode = '23514';`,
    );
    try {
      await storeEvents(ctx.db, [
        wireEvent(
          'dsync.user.created',
          userData({ id: 'directory_user_slow_poison', org, directory, updatedAt: t + 10 }),
          t + 10,
          'event_c_poison',
        ),
      ]);
      const draining = drainOrganization(single, org, { log });
      await expect
        .poll(
          async () =>
            (
              await sql<{ n: number }>`
                select count(*)::int as n from pg_stat_activity
                where wait_event = 'PgSleep' and query ilike '%insert into%users%'
              `.execute(ctx.db)
            ).rows[0]!.n,
          { timeout: 5_000, interval: 20 },
        )
        .toBe(1);
      await storeEvents(ctx.db, [
        wireEvent(
          'dsync.user.created',
          userData({ id: 'directory_user_late', org, directory, updatedAt: t + 1 }),
          t + 1,
          'event_c_late',
        ),
      ]);
      expect(await draining).toMatchObject({ dead: 1, applied: 1 });
      const rows = await ctx.db
        .selectFrom('inbox')
        .select(['event_id', 'status'])
        .where('organization_id', '=', org)
        .orderBy('event_id')
        .execute();
      expect(rows).toEqual([
        { event_id: 'event_c_late', status: 'applied' },
        { event_id: 'event_c_poison', status: 'dead' },
      ]);
    } finally {
      await cure();
      await single.close();
    }
  });

  it("a transient error charges nothing until the job's last attempt, then counts like any failure", async () => {
    const org = 'org_flaky';
    const directory = `directory_${org}`;
    const t = Date.UTC(2026, 9, 1);
    const cure = await onUserWrite(
      'fail_transiently',
      'directory_user_flaky',
      `raise exception 'could not serialize' using errcode = '40001';`,
    );
    try {
      await storeEvents(ctx.db, [
        wireEvent(
          'dsync.user.created',
          userData({ id: 'directory_user_flaky', org, directory, updatedAt: t }),
          t,
          'event_flaky',
        ),
      ]);
      const flaky = () =>
        ctx.db
          .selectFrom('inbox')
          .select(['status', 'attempts'])
          .where('event_id', '=', 'event_flaky')
          .executeTakeFirstOrThrow();
      await expect(drainOrganization(resources, org, { log })).rejects.toMatchObject({
        code: '40001',
      });
      expect(await flaky()).toEqual({ status: 'pending', attempts: 0 });
      await expect(drainOrganization(resources, org, { log, lastAttempt: true })).rejects.toThrow(
        EventFailedError,
      );
      expect(await flaky()).toEqual({ status: 'pending', attempts: 1 });
      expect(await drainOrganization(resources, org, { log, lastAttempt: true })).toMatchObject({
        dead: 1,
      });
      expect(await flaky()).toEqual({ status: 'dead', attempts: 2 });
    } finally {
      await cure();
    }
  }, 30_000);

  it("knows a BullMQ job's last attempt as BullMQ counts them", async () => {
    const redis = ctx.redis();
    const name = 'attempts-probe';
    const options = { connection: redis, prefix: ctx.config.REDIS_PREFIX };
    const queue = ctx.track('queue', new Queue(name, options));
    const blocking = ctx.redis();
    const seen: Array<[number, boolean]> = [];
    const worker = ctx.track(
      'worker',
      new Worker(
        name,
        async (job) => {
          seen.push([job.attemptsMade, isLastAttempt(job)]);
          throw new Error('fails every time');
        },
        { ...options, connection: blocking },
      ),
    );
    try {
      await queue.add('probe', {}, { attempts: 3 });
      await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(3);
      expect(seen).toEqual([
        [0, false],
        [1, false],
        [2, true],
      ]);
    } finally {
      await worker.close();
      await queue.close();
      await blocking.quit();
      await redis.quit();
    }
  });

  it('an event that can never be valid is dead at once', async () => {
    const org = 'org_invalid';
    await ctx.db
      .insertInto('inbox')
      .values({
        event_id: 'event_broken',
        organization_id: org,
        event_type: 'dsync.user.created',
        occurred_at: new Date(Date.UTC(2026, 9, 1)),
        source: 'webhook',
        payload: JSON.stringify({
          id: 'event_broken',
          event: 'dsync.user.created',
          created_at: '2026-10-01T00:00:00Z',
          data: { id: 'x' },
        }),
        status: 'pending',
      })
      .execute();
    await storeEvents(ctx.db, initialSync({ org, users: 2, start: Date.UTC(2026, 9, 2) }));
    expect(await drainOrganization(resources, org, { log })).toMatchObject({ applied: 3, dead: 1 });
    const broken = await ctx.db
      .selectFrom('inbox')
      .selectAll()
      .where('event_id', '=', 'event_broken')
      .executeTakeFirstOrThrow();
    expect(broken.status).toBe('dead');
    expect(broken.last_error).toMatch(/^invalid dsync.user.created data: /);
  });

  it('concurrent drains of one organization never apply it at the same time', async () => {
    const org = 'org_concurrent';
    const small = ctx.openResources({ DRAIN_BATCH_SIZE: 10 });
    try {
      await storeEvents(ctx.db, initialSync({ org, users: 200 }));
      const results = await Promise.allSettled(
        [1, 2, 3, 4].map(() => drainOrganization(small, org, { log })),
      );
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(OrganizationBusyError);
      }
      await drainOrganization(small, org, { log });
      const rows = await ctx.db
        .selectFrom('inbox')
        .select(['event_id', 'status', 'attempts', 'applied_at'])
        .where('organization_id', '=', org)
        .orderBy('occurred_at')
        .orderBy('event_id')
        .execute();
      expect(rows.every((r) => r.status === 'applied' && r.attempts === 1)).toBe(true);
      // Batches commit in order: applied_at (transaction time) never goes backwards.
      for (let i = 1; i < rows.length; i++) {
        expect(rows[i]!.applied_at!.getTime()).toBeGreaterThanOrEqual(
          rows[i - 1]!.applied_at!.getTime(),
        );
      }
      const provisioned = await ctx.db
        .selectFrom('audit_log')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('organization_id', '=', org)
        .where('action', '=', 'user_provisioned')
        .executeTakeFirstOrThrow();
      expect(Number(provisioned.n)).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('survives its Postgres connections being killed mid-drain', async () => {
    const org = 'org_pg_killed';
    const small = ctx.openResources({ DRAIN_BATCH_SIZE: 20 });
    try {
      await storeEvents(ctx.db, initialSync({ org, users: 600 }));
      // A bounded storm (a busy machine would otherwise see kills faster than the
      // drain's backoff can outlast them): 25 connections killed, or 4 s of killing.
      let killed = 0;
      const stormEnds = Date.now() + 4_000;
      const killer = setInterval(() => {
        if (killed >= 25 || Date.now() > stormEnds) return;
        void sql<{ killed: boolean }>`
          select pg_terminate_backend(pid) as killed from pg_stat_activity
          where application_name = ${`dirsync:${ctx.config.DATABASE_SCHEMA}`.slice(0, 63)} and pid <> pg_backend_pid()
            and state = 'idle in transaction'
        `
          .execute(ctx.db)
          .then((r) => {
            killed += r.rows.filter((row) => row.killed).length;
          });
      }, 15);
      let result: Awaited<ReturnType<typeof drainOrganization>> | undefined;
      try {
        for (let i = 0; i < 20 && !result; i++) {
          result = await drainOrganization(small, org, { log, yieldAfterMs: 60_000 }).catch(
            () => undefined,
          );
        }
      } finally {
        clearInterval(killer);
      }
      await drainOrganization(small, org, { log });
      expect(killed).toBeGreaterThan(0);
      expect(await statusOf(org)).toEqual({ applied: 601 });
      const users = await ctx.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('organization_id', '=', org)
        .executeTakeFirstOrThrow();
      expect(Number(users.n)).toBe(600);
    } finally {
      await small.close();
    }
  });
});
