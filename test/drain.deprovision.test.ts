// Deprovisioning on real Postgres: the hard policy's erasure, a directory deleted with
// active users holding sessions (and its in-flight events arriving late), removal from
// a role-granting group, and the guard that refuses a session to a deprovisioned user.
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../common/logger.ts';
import type { Resources } from '../common/resources.ts';
import { drainOrganization } from '../worker/drain/drain-organization.ts';
import { useTestContext } from './support/context.ts';
import {
  directoryData,
  groupData,
  storeEvents,
  userData,
  type WireEvent,
  wireEvent,
} from './support/events.ts';

const ctx = useTestContext('drain_deprovision');
const log = createLogger({ LOG_LEVEL: 'silent' });
let resources: Resources;

beforeAll(() => {
  resources = ctx.openResources();
});
afterAll(async () => {
  await resources.close();
  // The application role made by appConnection(), if any (roles outlive schemas).
  const role = `app_${ctx.config.DATABASE_SCHEMA}`.slice(0, 63);
  await sql`drop owned by ${sql.id(role)}`.execute(ctx.db).catch(() => {});
  await sql`drop role if exists ${sql.id(role)}`.execute(ctx.db);
});

const T = Date.UTC(2026, 9, 1);

/** A directory of `org` with users 0..n-1 created, each with two sessions. */
async function seed(org: string, users: number, policy: 'soft' | 'hard' = 'soft') {
  await ctx.db
    .insertInto('organizations')
    .values({ id: org, deprovision_policy: policy })
    .execute();
  const directory = `directory_${org}`;
  const events: WireEvent[] = [
    wireEvent(
      'dsync.activated',
      directoryData({ id: directory, org, updatedAt: T }),
      T,
      `ev_${org}_0`,
    ),
  ];
  for (let i = 0; i < users; i++) {
    events.push(
      wireEvent(
        'dsync.user.created',
        userData({
          id: `du_${org}_${i}`,
          org,
          directory,
          email: `person${i}@${org}.example`,
          updatedAt: T + 10 + i,
        }),
        T + 10 + i,
        `ev_${org}_u${i}`,
      ),
    );
  }
  await storeEvents(ctx.db, events);
  await drainOrganization(resources, org, { log });
  const rows = await ctx.db
    .selectFrom('users')
    .select('id')
    .where('organization_id', '=', org)
    .execute();
  await ctx.db
    .insertInto('sessions')
    .values(rows.flatMap((u) => [{ user_id: u.id }, { user_id: u.id }]))
    .execute();
  return { directory };
}

const liveSessions = async (org: string) =>
  Number(
    (
      await ctx.db
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('users.organization_id', '=', org)
        .where('sessions.revoked_at', 'is', null)
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('deprovisioning', () => {
  it('under the hard policy erases personal data, keeps the ids, and audits no personal data', async () => {
    const org = 'org_hard';
    const { directory } = await seed(org, 2, 'hard');
    await storeEvents(ctx.db, [
      wireEvent(
        'dsync.user.deleted',
        userData({
          id: `du_${org}_0`,
          org,
          directory,
          email: `person0@${org}.example`,
          state: 'inactive',
          updatedAt: T + 100,
        }),
        T + 100,
        `ev_${org}_del`,
      ),
    ]);
    await drainOrganization(resources, org, { log });
    const gone = await ctx.db
      .selectFrom('users')
      .selectAll()
      .where('directory_user_id', '=', `du_${org}_0`)
      .executeTakeFirstOrThrow();
    expect(gone).toMatchObject({
      directory_user_id: `du_${org}_0`,
      organization_id: org,
      directory_id: directory,
      state: 'inactive',
      email: null,
      first_name: null,
      last_name: null,
      custom_attributes: {},
      deleted_at: expect.any(Date),
    });
    const kept = await ctx.db
      .selectFrom('users')
      .select(['email', 'state'])
      .where('directory_user_id', '=', `du_${org}_1`)
      .executeTakeFirstOrThrow();
    expect(kept).toEqual({ email: `person1@${org}.example`, state: 'active' });
    expect(await liveSessions(org)).toBe(2); // only the other user's
    const audit = await ctx.db
      .selectFrom('audit_log')
      .select(['action', 'detail'])
      .where('organization_id', '=', org)
      .execute();
    expect(audit.map((a) => a.action)).toContain('user_deprovisioned');
    const text = JSON.stringify(audit);
    expect(text).not.toContain('@');
    expect(text).not.toContain('Lovelace');
  });

  it('a deleted directory deprovisions every user, however recently updated, ends every group and membership, and late events cannot revive them', async () => {
    const org = 'org_dir_gone';
    const { directory } = await seed(org, 3);
    const group = (updatedAt: number) => groupData({ id: `dg_${org}`, org, directory, updatedAt });
    const user = (i: number, updatedAt: number) =>
      userData({ id: `du_${org}_${i}`, org, directory, updatedAt });
    await storeEvents(ctx.db, [
      wireEvent('dsync.group.created', group(T + 20), T + 20, `ev_${org}_g`),
      wireEvent(
        'dsync.group.user_added',
        { directory_id: directory, user: user(0, T + 10), group: group(T + 20) },
        T + 21,
        `ev_${org}_m0`,
      ),
      // Changed after the directory's own last change: a newer version than its deletion.
      wireEvent('dsync.user.updated', user(1, T + 500), T + 500, `ev_${org}_u1b`),
    ]);
    await drainOrganization(resources, org, { log });
    expect(await liveSessions(org)).toBe(6);

    // The deletion carries the directory's updated_at from before those changes.
    await storeEvents(ctx.db, [
      wireEvent(
        'dsync.deleted',
        directoryData({ id: directory, org, updatedAt: T + 1, state: 'deleting' }),
        T + 600,
        `ev_${org}_gone`,
      ),
    ]);
    await drainOrganization(resources, org, { log });
    const users = await ctx.db
      .selectFrom('users')
      .select(['state', 'deleted_at'])
      .where('organization_id', '=', org)
      .execute();
    expect(users).toHaveLength(3);
    for (const u of users)
      expect(u).toMatchObject({ state: 'inactive', deleted_at: expect.any(Date) });
    expect(await liveSessions(org)).toBe(0);
    const reasons = await ctx.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select('sessions.revoked_reason')
      .distinct()
      .where('users.organization_id', '=', org)
      .execute();
    expect(reasons).toEqual([{ revoked_reason: 'directory_deleted' }]);

    // In flight when the directory went: newer than the deletion, and still no way back.
    await storeEvents(ctx.db, [
      wireEvent('dsync.user.updated', user(2, T + 700), T + 700, `ev_${org}_late_u`),
      wireEvent('dsync.user.created', user(9, T + 701), T + 701, `ev_${org}_late_new`),
      wireEvent(
        'dsync.group.user_added',
        { directory_id: directory, user: user(2, T + 700), group: group(T + 20) },
        T + 702,
        `ev_${org}_late_m`,
      ),
      wireEvent('dsync.group.updated', group(T + 703), T + 703, `ev_${org}_late_g`),
    ]);
    await drainOrganization(resources, org, { log });
    const active = await ctx.db
      .selectFrom('users')
      .select('directory_user_id')
      .where('organization_id', '=', org)
      .where((eb) => eb.or([eb('state', '=', 'active'), eb('deleted_at', 'is', null)]))
      .execute();
    expect(active).toEqual([]);
    const groups = await ctx.db
      .selectFrom('groups')
      .select('deleted_at')
      .where('organization_id', '=', org)
      .execute();
    expect(groups).toEqual([{ deleted_at: expect.any(Date) }]);
    const memberships = await ctx.db
      .selectFrom('group_memberships')
      .select('removed_at')
      .where('organization_id', '=', org)
      .where('removed_at', 'is', null)
      .execute();
    expect(memberships).toEqual([]);
  });

  it("removal from a group that grants a role revokes the member's sessions", async () => {
    const org = 'org_grants';
    const { directory } = await seed(org, 2);
    const group = (id: string) => groupData({ id, org, directory, updatedAt: T + 20 });
    const user = (i: number) =>
      userData({ id: `du_${org}_${i}`, org, directory, updatedAt: T + 10 + i });
    await storeEvents(ctx.db, [
      wireEvent('dsync.group.created', group(`dg_${org}_admins`), T + 20, `ev_${org}_ga`),
      wireEvent('dsync.group.created', group(`dg_${org}_plain`), T + 20, `ev_${org}_gp`),
      wireEvent(
        'dsync.group.user_added',
        { directory_id: directory, user: user(0), group: group(`dg_${org}_admins`) },
        T + 30,
        `ev_${org}_a0`,
      ),
      wireEvent(
        'dsync.group.user_added',
        { directory_id: directory, user: user(1), group: group(`dg_${org}_plain`) },
        T + 31,
        `ev_${org}_a1`,
      ),
    ]);
    await drainOrganization(resources, org, { log });
    // The application marks the admins group as granting its admin role.
    await ctx.db
      .updateTable('groups')
      .set({ grants_role: 'admin' })
      .where('directory_group_id', '=', `dg_${org}_admins`)
      .execute();

    await storeEvents(ctx.db, [
      wireEvent(
        'dsync.group.user_removed',
        { directory_id: directory, user: user(0), group: group(`dg_${org}_admins`) },
        T + 40,
        `ev_${org}_r0`,
      ),
      wireEvent(
        'dsync.group.user_removed',
        { directory_id: directory, user: user(1), group: group(`dg_${org}_plain`) },
        T + 41,
        `ev_${org}_r1`,
      ),
    ]);
    await drainOrganization(resources, org, { log });
    const sessions = await ctx.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['users.directory_user_id', 'users.state', 'sessions.revoked_reason'])
      .where('users.organization_id', '=', org)
      .orderBy('users.directory_user_id')
      .execute();
    expect(sessions).toEqual([
      { directory_user_id: `du_${org}_0`, state: 'active', revoked_reason: 'group_removed' },
      { directory_user_id: `du_${org}_0`, state: 'active', revoked_reason: 'group_removed' },
      { directory_user_id: `du_${org}_1`, state: 'active', revoked_reason: null },
      { directory_user_id: `du_${org}_1`, state: 'active', revoked_reason: null },
    ]);
    const audit = await ctx.db
      .selectFrom('audit_log')
      .select(['action', 'detail'])
      .where('event_id', '=', `ev_${org}_r0`)
      .orderBy('id')
      .execute();
    expect(audit.map((a) => a.action)).toEqual(['membership_removed', 'sessions_revoked']);
    expect(audit[1]!.detail).toMatchObject({ count: 2, reason: 'group_removed' });
  });

  it('refuses a new session, or an un-revoked one, for a deprovisioned user, to an application role with read access to users', async () => {
    const org = 'org_guard';
    const { directory } = await seed(org, 2);
    const [u, other] = await ctx.db
      .selectFrom('users')
      .select('id')
      .where('organization_id', '=', org)
      .orderBy('directory_user_id')
      .execute();
    await storeEvents(ctx.db, [
      wireEvent(
        'dsync.user.deleted',
        userData({ id: `du_${org}_0`, org, directory, state: 'inactive', updatedAt: T + 100 }),
        T + 100,
        `ev_${org}_del`,
      ),
    ]);
    await drainOrganization(resources, org, { log });
    const app = await appConnection();
    try {
      // An active user's session is created as usual.
      await app.query('insert into sessions (user_id) values ($1)', [other!.id]);
      await expect(
        app.query('insert into sessions (user_id) values ($1)', [u!.id]),
      ).rejects.toMatchObject({
        code: 'DS001',
        message: expect.stringContaining('is deprovisioned'),
      });
      await expect(
        app.query('update sessions set revoked_at = null where user_id = $1', [u!.id]),
      ).rejects.toMatchObject({ code: 'DS001' });
      // A revoked session may still be recorded (e.g. an audit copy); nothing is live.
      await app.query(
        "insert into sessions (user_id, revoked_at, revoked_reason) values ($1, now(), 'app')",
        [u!.id],
      );
    } finally {
      await app.end();
    }
    expect(await liveSessions(org)).toBe(2 + 1); // the other user's two, and the new one
  });

  it('refuses a session inserted while the deprovisioning transaction is open (it waits, then sees the user gone)', async () => {
    const org = 'org_guard_race';
    await seed(org, 1);
    const [u] = await ctx.db
      .selectFrom('users')
      .select('id')
      .where('organization_id', '=', org)
      .execute();
    const worker = new pg.Client({ connectionString: ctx.config.DATABASE_URL });
    await worker.connect();
    await worker.query(`set search_path = ${ctx.config.DATABASE_SCHEMA}`);
    const app = await appConnection();
    try {
      // The worker's deprovisioning, as the drain does it: the user, then the sessions.
      await worker.query('begin');
      await worker.query("update users set state = 'inactive', deleted_at = now() where id = $1", [
        u!.id,
      ]);
      await worker.query(
        "update sessions set revoked_at = now(), revoked_reason = 'user_deleted' where user_id = $1 and revoked_at is null",
        [u!.id],
      );
      // The application read the user as active a moment ago and logs them in now.
      const login = app.query('insert into sessions (user_id) values ($1)', [u!.id]).then(
        () => 'created',
        (err: { code?: string }) => err.code,
      );
      await expect
        .poll(
          async () =>
            (
              await worker.query(
                "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like 'insert into sessions%'",
              )
            ).rows[0].n,
          { timeout: 5_000, interval: 20 },
        )
        .toBe(1);
      await worker.query('commit');
      expect(await login).toBe('DS001');
    } finally {
      await app.end();
      await worker.end();
    }
    expect(await liveSessions(org)).toBe(0);
  });
});

/** A connection as an application would have: select on users, insert/update on sessions. */
async function appConnection(): Promise<pg.Client> {
  const schema = ctx.config.DATABASE_SCHEMA;
  const role = `app_${schema}`.slice(0, 63);
  await sql`
    do $$ begin
      if not exists (select from pg_roles where rolname = ${sql.lit(role)}) then
        create role ${sql.id(role)};
      end if;
    end $$
  `.execute(ctx.db);
  await sql`grant usage on schema ${sql.id(schema)} to ${sql.id(role)}`.execute(ctx.db);
  await sql`grant select on ${sql.table('users')} to ${sql.id(role)}`.execute(ctx.db);
  await sql`grant select, insert, update on ${sql.table('sessions')} to ${sql.id(role)}`.execute(
    ctx.db,
  );
  const client = new pg.Client({ connectionString: ctx.config.DATABASE_URL });
  await client.connect();
  await client.query(`set search_path = ${schema}; set role ${role}`);
  return client;
}
