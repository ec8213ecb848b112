// The same properties on real Postgres, through the real drain: a history delivered
// shuffled, with duplicates, in random chunks (drained between chunks, so events
// apply out of order), with applied events replayed at random, ends in exactly the
// state of the history applied once in order; users log in between chunks, and in
// the end exactly the users active in that state hold a live session: no session of
// a deprovisioned user survives, and no active user is left without one.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../common/logger.ts';
import type { Resources } from '../common/resources.ts';
import type { Database } from '../db/database.ts';
import { replayEvent } from '../db/repositories/inbox.repository.ts';
import { drainOrganization } from '../worker/drain/drain-organization.ts';
import { useTestContext } from './support/context.ts';
import { storeEvents } from './support/events.ts';
import {
  deliver,
  deliveryArbitrary,
  historyArbitrary,
  renderHistory,
} from './support/histories.ts';
import { project } from './support/projection.ts';

const ctx = useTestContext('drain_properties');
const log = createLogger({ LOG_LEVEL: 'silent' });
let resources: Resources;

beforeAll(() => {
  resources = ctx.openResources({ DRAIN_BATCH_SIZE: 7 });
});
afterAll(async () => {
  await resources.close();
});

async function readState(db: Database, org: string, prefix: string) {
  const [users, groups, memberships] = await Promise.all([
    db.selectFrom('users').selectAll().where('organization_id', '=', org).execute(),
    db.selectFrom('groups').selectAll().where('organization_id', '=', org).execute(),
    db.selectFrom('group_memberships').selectAll().where('organization_id', '=', org).execute(),
  ]);
  return project({ users, groups, memberships }, prefix);
}

/** The users (stripped directory ids) holding a session that is not revoked. */
async function withLiveSessions(db: Database, org: string, prefix: string) {
  const rows = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select('users.directory_user_id')
    .distinct()
    .where('users.organization_id', '=', org)
    .where('sessions.revoked_at', 'is', null)
    .execute();
  return rows.map((r) => r.directory_user_id.slice(prefix.length)).sort();
}

/** Simulates logins: every active user of the org gets a fresh session. */
async function login(db: Database, org: string) {
  const active = await db
    .selectFrom('users')
    .select('id')
    .where('organization_id', '=', org)
    .where('state', '=', 'active')
    .where('deleted_at', 'is', null)
    .execute();
  if (active.length > 0)
    await db
      .insertInto('sessions')
      .values(active.map((u) => ({ user_id: u.id })))
      .execute();
}

let run = 0;

describe('drain properties (Postgres)', () => {
  it('out-of-order, replayed delivery converges on in-order application', async () => {
    await fc.assert(
      fc.asyncProperty(
        historyArbitrary.chain((ops) =>
          fc.tuple(
            fc.constant(ops),
            deliveryArbitrary(renderHistory(ops, 'org', '').events.length),
            fc.integer({ min: 1, max: 6 }),
            fc.infiniteStream(fc.nat()),
            fc.constantFrom('soft' as const, 'hard' as const),
          ),
        ),
        async ([ops, delivery, chunk, randoms, policy]) => {
          run += 1;
          const a = { org: `org_a${run}`, prefix: `a${run}_` };
          const b = { org: `org_b${run}`, prefix: `b${run}_` };
          for (const side of [a, b]) {
            await ctx.db
              .insertInto('organizations')
              .values({ id: side.org, deprovision_policy: policy })
              .execute();
          }

          // In order, in chunks, with logins between them.
          const inOrder = renderHistory(ops, a.org, a.prefix).events;
          for (let i = 0; i < inOrder.length; i += chunk) {
            await storeEvents(ctx.db, inOrder.slice(i, i + chunk));
            await drainOrganization(resources, a.org, { log });
            await login(ctx.db, a.org);
          }

          const shuffled = deliver(renderHistory(ops, b.org, b.prefix).events, delivery);
          const rnd = randoms.take(shuffled.length)[Symbol.iterator]();
          const next = () => rnd.next().value as number;
          for (let i = 0; i < shuffled.length; i += chunk) {
            await storeEvents(ctx.db, shuffled.slice(i, i + chunk));
            await drainOrganization(resources, b.org, { log });
            await login(ctx.db, b.org);
            // Replay an already applied event now and then: applying twice is a no-op.
            const replayed = shuffled[next() % (i + 1)]!;
            await replayEvent(ctx.db, replayed.id);
            await drainOrganization(resources, b.org, { log });
          }
          await login(ctx.db, a.org);
          await login(ctx.db, b.org);

          const state = await readState(ctx.db, a.org, a.prefix);
          expect(await readState(ctx.db, b.org, b.prefix)).toEqual(state);
          const active = Object.entries(state.users)
            .filter(([, u]) => u.state === 'active' && !u.deleted)
            .map(([id]) => id)
            .sort();
          expect(await withLiveSessions(ctx.db, a.org, a.prefix)).toEqual(active);
          expect(await withLiveSessions(ctx.db, b.org, b.prefix)).toEqual(active);
          const pending = await ctx.db
            .selectFrom('inbox')
            .select('event_id')
            .where('organization_id', 'in', [a.org, b.org])
            .where('status', '!=', 'applied')
            .execute();
          expect(pending).toEqual([]);
        },
      ),
      { numRuns: 30 },
    );
  }, 120_000);
});
