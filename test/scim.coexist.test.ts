// SCIM and WorkOS directories side by side in one organization: a WorkOS resync
// (which deletes what WorkOS no longer has) leaves the SCIM directory, its users,
// groups and memberships alone, and SCIM writes leave the WorkOS users alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerDrain } from '../common/triggers.ts';
import type { Service } from '../service.ts';
import { reconcileOrganization } from '../worker/reconciler/reconcile-organization.ts';
import { databaseShape, drained, upstreamShape } from './fake-workos/compare.ts';
import { seedWorld, type World } from './fake-workos/seed.ts';
import { type FakeWorkOS, startFakeWorkOS } from './fake-workos/server.ts';
import { useTestContext } from './support/context.ts';
import { storeEvents } from './support/events.ts';
import { activeMembers, createDirectory, type ScimClient, userRow } from './support/scim.ts';
import { FAST_RETRY, waitFor } from './support/workos.ts';

const ctx = useTestContext('scim_coexist');
const ORG = 'org_both';
let fake: FakeWorkOS;
let service: Service;
let world: World;
let scim: ScimClient;

beforeAll(async () => {
  fake = await startFakeWorkOS();
  world = seedWorld(fake.store, ORG, { users: 3, groups: 1 });
  service = await ctx.startService(
    { api: true, worker: true },
    { ...fake.env, WORKOS_POLL_INTERVAL_MS: 0, WORKER_METRICS_PORT: 0 },
  );
  await storeEvents(ctx.db, world.events, 'webhook');
  await triggerDrain(service.resources.drainQueue, ORG);
  await waitFor('the WorkOS events to apply', () => drained(ctx.db, ORG));
  scim = await createDirectory(ctx, service, ORG);
});
afterAll(async () => {
  await service.stop();
  await fake.close();
});

describe('SCIM beside WorkOS', () => {
  it('a resync deletes nothing of the SCIM directory', async () => {
    const user = (await scim.request('POST', '/Users', { userName: 'scim@both.example' })).body.id;
    const group = (
      await scim.request('POST', '/Groups', {
        displayName: 'SCIM team',
        members: [{ value: user }],
      })
    ).body.id;
    expect(await databaseShape(ctx.db, ORG)).not.toEqual(upstreamShape(fake.store, ORG));
    const result = await reconcileOrganization(service.resources, ORG, { retry: FAST_RETRY });
    expect(result.events).toBe(0);
    await waitFor('the drain to settle', () => drained(ctx.db, ORG));
    expect((await userRow(ctx, user))?.state).toBe('active');
    expect(await activeMembers(ctx, group)).toEqual([user]);
    const dir = await ctx.db
      .selectFrom('directories')
      .select('deleted_at')
      .where('id', '=', scim.directoryId)
      .executeTakeFirstOrThrow();
    expect(dir.deleted_at).toBeNull();
    // The WorkOS users are untouched by the SCIM writes.
    for (const u of world.users) expect((await userRow(ctx, u.id))?.state).toBe('active');
  });
});
