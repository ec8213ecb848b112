// Fail closed, end to end on real Postgres and Redis: an authentic deprovisioning
// that carries what Postgres cannot store (a lone surrogate, a NUL), nesting 5,000
// deep, or invalid fields still deactivates the user and revokes their sessions in
// the same transaction, whether it arrives by webhook or from the Events API; what
// had to be changed is listed on the inbox row and in the audit rows.
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../api/server.ts';
import { createLogger } from '../common/logger.ts';
import type { Resources } from '../common/resources.ts';
import { drainOrganization } from '../worker/drain/drain-organization.ts';
import { pollEvents } from '../worker/poller/poll-events.ts';
import { type FakeWorkOS, startFakeWorkOS } from './fake-workos/server.ts';
import { useTestContext } from './support/context.ts';
import {
  directoryData,
  eventId,
  groupData,
  storeEvents,
  userData,
  type WireEvent,
  wireEvent,
} from './support/events.ts';
import { postWebhook } from './support/webhooks.ts';
import { FAST_RETRY } from './support/workos.ts';

const ctx = useTestContext('fail_closed');
const log = createLogger({ LOG_LEVEL: 'silent' });
let resources: Resources;
let app: FastifyInstance;
let fake: FakeWorkOS;

beforeAll(async () => {
  fake = await startFakeWorkOS({ serialize });
  // Room for the property's 1 MB strings, several to an event.
  resources = ctx.openResources({ ...fake.env, WEBHOOK_BODY_LIMIT_BYTES: 16 * 1024 * 1024 });
  app = ctx.track('server', await buildServer(resources));
});
afterAll(async () => {
  await app.close();
  await resources.close();
  await fake.close();
});

const T = Date.UTC(2026, 9, 1);
let orgs = 0;

interface Seeded {
  org: string;
  directory: string;
  directoryUserId: string;
  directoryGroupId: string;
  userId: string;
}

/** An organization with one active user in a role-granting group, with two live sessions. */
async function seed(): Promise<Seeded> {
  orgs += 1;
  const org = `org_fc_${orgs}_${Date.now().toString(36)}`;
  const directory = `directory_${org}`;
  const directoryUserId = `du_${org}`;
  const directoryGroupId = `dg_${org}`;
  const user = userData({ id: directoryUserId, org, directory, updatedAt: T + 1 });
  const group = groupData({ id: directoryGroupId, org, directory, updatedAt: T + 1 });
  await storeEvents(ctx.db, [
    wireEvent('dsync.activated', directoryData({ id: directory, org, updatedAt: T }), T),
    wireEvent('dsync.user.created', user, T + 1),
    wireEvent('dsync.group.created', group, T + 1),
    wireEvent('dsync.group.user_added', { directory_id: directory, user, group }, T + 2),
  ]);
  await drainOrganization(resources, org, { log });
  await ctx.db
    .updateTable('groups')
    .set({ grants_role: 'admin' })
    .where('directory_group_id', '=', directoryGroupId)
    .execute();
  const { id: userId } = await ctx.db
    .selectFrom('users')
    .select('id')
    .where('directory_user_id', '=', directoryUserId)
    .executeTakeFirstOrThrow();
  await ctx.db
    .insertInto('sessions')
    .values([{ user_id: userId }, { user_id: userId }])
    .execute();
  return { org, directory, directoryUserId, directoryGroupId, userId };
}

async function userState(s: Seeded) {
  const user = await ctx.db
    .selectFrom('users')
    .select(['state', 'email', 'deleted_at'])
    .where('id', '=', s.userId)
    .executeTakeFirstOrThrow();
  const live = await ctx.db
    .selectFrom('sessions')
    .select('id')
    .where('user_id', '=', s.userId)
    .where('revoked_at', 'is', null)
    .execute();
  return { ...user, liveSessions: live.length };
}

async function inboxRow(id: string) {
  return ctx.db
    .selectFrom('inbox')
    .select(['status', 'last_error', 'alterations'])
    .where('event_id', '=', id)
    .executeTakeFirstOrThrow();
}

// Placeholders expanded by serialize(), as JSON.stringify cannot write them: nesting
// thousands deep (it recurses), 1 MB strings (cheaper written once), integers beyond
// 2^53 (a double cannot hold them).
const DEEP = '\u0001deep\u0001';
const BIG = '\u0001BIG\u0001';
const BIG_NUMBER = '\u0001number\u0001';
const DEEP_TEXT = `${'{"down":'.repeat(5_000)}"bottom"${'}'.repeat(5_000)}`;

/** JSON text with the placeholders expanded. */
function serialize(body: unknown): string {
  return JSON.stringify(body, (_key, value) => (value === BIG ? 'x'.repeat(1_000_000) : value))
    .replaceAll('"\\u0001deep\\u0001"', DEEP_TEXT)
    .replace(/\{"\\u0001number\\u0001":"(\d+)"\}/g, '$1');
}

/** A suspension (`state: "inactive"`) whose custom attributes hold `attributes`. */
function suspension(s: Seeded, attributes: Record<string, unknown>, extra = {}): WireEvent {
  const data = {
    ...userData({
      id: s.directoryUserId,
      org: s.org,
      directory: s.directory,
      state: 'inactive',
      updatedAt: Date.now(),
    }),
    custom_attributes: attributes,
    ...extra,
  };
  return wireEvent('dsync.user.updated', data, Date.now(), eventId('event_fc'));
}

const CASES: Array<[string, (s: Seeded) => WireEvent, string]> = [
  [
    'a lone surrogate in a custom attribute',
    (s) => suspension(s, { department: 'Engineering \ud800' }),
    'replaced_unstorable_characters',
  ],
  [
    'custom attributes nested 5,000 deep',
    (s) => suspension(s, { chain: DEEP }),
    'removed_deep_nesting',
  ],
  [
    'a NUL in the last name',
    (s) => suspension(s, {}, { last_name: 'Love\u0000lace' }),
    'replaced_unstorable_characters',
  ],
];

async function expectDeprovisioned(s: Seeded, event: WireEvent, change: string) {
  await drainOrganization(resources, s.org, { log });
  const state = await userState(s);
  expect(state.state).toBe('inactive');
  expect(state.liveSessions).toBe(0);
  const row = await inboxRow(event.id);
  expect(row.status).toBe('applied');
  expect(row.alterations).toEqual(expect.arrayContaining([expect.objectContaining({ change })]));
  const audit = await ctx.db
    .selectFrom('audit_log')
    .select(['action', 'detail'])
    .where('event_id', '=', event.id)
    .execute();
  expect(audit.map((a) => a.action).sort()).toEqual(['sessions_revoked', 'user_deprovisioned']);
  for (const a of audit) {
    expect((a.detail as { alterations?: unknown[] }).alterations).toEqual(row.alterations);
  }
}

describe('fail closed: a suspension carrying what Postgres cannot store', () => {
  it.each(CASES)('by webhook: %s', async (_what, make, change) => {
    const s = await seed();
    const event = make(s);
    const res = await postWebhook(app, serialize(event));
    expect(res.statusCode).toBe(200);
    await expectDeprovisioned(s, event, change);
  });

  it.each(CASES)('from the Events API: %s', async (_what, make, change) => {
    const s = await seed();
    const event = make(s);
    fake.store.appendEvent(event as Parameters<typeof fake.store.appendEvent>[0]);
    const polled = await pollEvents(resources, { retry: FAST_RETRY });
    expect(polled.status).toBe('done');
    await expectDeprovisioned(s, event, change);
  });

  it('applies an invalid deletion, keeping the stored value of each invalid field', async () => {
    const s = await seed();
    const data = {
      ...userData({ id: s.directoryUserId, org: s.org, directory: s.directory, updatedAt: T + 5 }),
      email: 42,
      directory_id: { not: 'an id' },
      updated_at: 'yesterday',
    };
    const event = wireEvent('dsync.user.deleted', data, Date.now(), eventId('event_fc'));
    expect((await postWebhook(app, JSON.stringify(event))).statusCode).toBe(200);
    await drainOrganization(resources, s.org, { log });
    const state = await userState(s);
    expect(state.deleted_at).not.toBeNull();
    expect(state.liveSessions).toBe(0);
    expect(state.email).toBe(`${s.directoryUserId}@example.com`);
    const row = await inboxRow(event.id);
    expect(row.status).toBe('applied');
    expect(row.alterations).toEqual([
      expect.objectContaining({ path: 'data.directory_id', change: 'dropped_invalid_value' }),
      expect.objectContaining({ path: 'data.email', change: 'dropped_invalid_value' }),
      expect.objectContaining({ path: 'data.updated_at', change: 'dropped_invalid_value' }),
    ]);
  });

  it('applies a row stored as it came before payloads were made storable (a replay)', async () => {
    const s = await seed();
    const event = suspension(s, { department: 'Engineering \ud800' });
    // The json column keeps the escape as text; jsonb (users.custom_attributes) refuses it.
    await ctx.db
      .insertInto('inbox')
      .values({
        event_id: event.id,
        organization_id: s.org,
        event_type: event.event,
        occurred_at: new Date(event.created_at),
        source: 'replay',
        payload: JSON.stringify(event),
        status: 'pending',
      })
      .execute();
    await expectDeprovisioned(s, event, 'replaced_unstorable_characters');
  });

  it('still refuses an invalid event that does not deprovision (400, nothing stored)', async () => {
    const s = await seed();
    const data = {
      ...userData({ id: s.directoryUserId, org: s.org, directory: s.directory, updatedAt: T + 5 }),
      email: 42,
    };
    const event = wireEvent('dsync.user.updated', data, Date.now(), eventId('event_fc'));
    expect((await postWebhook(app, JSON.stringify(event))).statusCode).toBe(400);
    expect((await userState(s)).liveSessions).toBe(2);
  });
});

// ---- the property ----------------------------------------------------------------

/** Values no field should hold, in every shape a hostile or buggy provider could send. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant('\ud800'),
  fc.constant('\udfff tail'),
  fc.constant('a\u0000b'),
  fc.string({ unit: 'binary' }),
  fc.constant(BIG),
  fc.constant(DEEP),
  fc.integer(),
  fc.bigInt({ min: 2n ** 53n + 1n, max: 2n ** 70n }).map((n) => ({ [BIG_NUMBER]: String(n) })),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.constant('\u0000'))),
);

const USER_FIELDS = [
  'directory_id',
  'idp_id',
  'email',
  'first_name',
  'last_name',
  'custom_attributes',
  'raw_attributes',
  'role',
  'roles',
  'created_at',
  'updated_at',
  'unknown_field',
] as const;

const notActive = fc.oneof(
  fc.constantFrom('inactive', 'suspended', 'ACTIVE', ' active', 'active\u0000', ''),
  hostile,
);

const hostileFields = (fields: readonly string[]) =>
  fc.record(Object.fromEntries(fields.map((f) => [f, hostile])), { requiredKeys: [] });

const deprovisioning = fc.oneof(
  fc.record({ kind: fc.constant('user.deleted' as const), fields: hostileFields(USER_FIELDS) }),
  fc.record({
    kind: fc.constant('user.updated' as const),
    fields: hostileFields(USER_FIELDS),
    state: notActive,
  }),
  fc.record({
    kind: fc.constant('user_removed' as const),
    user: hostileFields(USER_FIELDS),
    group: hostileFields(['directory_id', 'idp_id', 'name', 'created_at', 'updated_at']),
  }),
  fc.record({
    kind: fc.constant('directory.deleted' as const),
    fields: hostileFields(['state', 'type', 'name', 'created_at', 'updated_at']),
  }),
);

type Deprovisioning = typeof deprovisioning extends fc.Arbitrary<infer T> ? T : never;

/** The authentic event: readable identity, hostile everything else. */
function hostileEvent(s: Seeded, d: Deprovisioning, createdAt: unknown): object {
  const now = Date.now();
  const user = userData({
    id: s.directoryUserId,
    org: s.org,
    directory: s.directory,
    updatedAt: now,
  });
  const group = groupData({
    id: s.directoryGroupId,
    org: s.org,
    directory: s.directory,
    updatedAt: now,
  });
  let type: string;
  let data: Record<string, unknown>;
  switch (d.kind) {
    case 'user.deleted':
      type = 'dsync.user.deleted';
      data = { ...user, ...d.fields };
      break;
    case 'user.updated':
      type = 'dsync.user.updated';
      data = { ...user, ...d.fields, state: d.state };
      break;
    case 'user_removed':
      type = 'dsync.group.user_removed';
      data = {
        directory_id: s.directory,
        user: { ...user, ...d.user, id: s.directoryUserId, organization_id: s.org },
        group: { ...group, ...d.group, id: s.directoryGroupId, organization_id: s.org },
      };
      break;
    case 'directory.deleted':
      type = 'dsync.deleted';
      data = {
        ...directoryData({ id: s.directory, org: s.org, updatedAt: now, state: 'deleting' }),
        ...d.fields,
      };
      break;
  }
  data.id = d.kind === 'directory.deleted' ? s.directory : data.id;
  data.organization_id = s.org;
  return { object: 'event', id: eventId('event_prop'), event: type, data, created_at: createdAt };
}

describe('fail closed: property', () => {
  it('every authentic deprovisioning takes effect, whatever its other fields hold', async () => {
    await fc.assert(
      fc.asyncProperty(
        deprovisioning,
        fc.oneof(fc.constant(new Date(Date.now() + 1000).toISOString()), hostile),
        async (d, createdAt) => {
          const s = await seed();
          const event = hostileEvent(s, d, createdAt) as { id: string };
          const res = await postWebhook(app, serialize(event));
          expect(res.statusCode).toBe(200);
          // A later, valid event of the organization still applies.
          const later = userData({
            id: `du_later_${s.org}`,
            org: s.org,
            directory: s.directory,
            updatedAt: Date.now(),
          });
          const next = wireEvent('dsync.user.created', later, Date.now() + 60_000);
          expect((await postWebhook(app, JSON.stringify(next))).statusCode).toBe(200);
          await drainOrganization(resources, s.org, { log });

          const state = await userState(s);
          expect(state.liveSessions).toBe(0);
          if (d.kind !== 'user_removed') expect(state.state).not.toBe('active');
          const row = await inboxRow(event.id);
          expect(row.status, row.last_error ?? '').toBe('applied');
          expect((await inboxRow(next.id)).status).toBe('applied');
        },
      ),
      { numRuns: 30 },
    );
  }, 180_000);
});
