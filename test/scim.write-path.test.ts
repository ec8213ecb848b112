// The SCIM write path: a write whose organization has nothing pending is applied in
// its own transaction and its inbox row stored already applied; with events pending
// ahead of it (or a paused organization) it is stored pending and the drain applies
// it after them, in the organization's order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  pauseOrganization,
  resumeOrganization,
} from '../db/repositories/organizations.repository.ts';
import type { Service } from '../service.ts';
import { useTestContext } from './support/context.ts';
import { storeEvents, userData, wireEvent } from './support/events.ts';
import { addSessions, auditOf, createDirectory, liveSessions, userRow } from './support/scim.ts';

const ctx = useTestContext('scim_write_path');
let service: Service;

beforeAll(async () => {
  service = await ctx.startService({ api: true, worker: false });
});
afterAll(async () => {
  await service.stop();
});

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const user = (userName: string) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  userName,
  name: { givenName: 'Write', familyName: 'Path' },
  emails: [{ primary: true, value: userName, type: 'work' }],
  active: true,
});

async function inboxOf(organizationId: string) {
  return ctx.db
    .selectFrom('inbox')
    .select(['event_id', 'event_type', 'status', 'attempts', 'applied_at'])
    .where('organization_id', '=', organizationId)
    .orderBy('occurred_at')
    .orderBy('event_id')
    .execute();
}

describe('SCIM write path', () => {
  it('nothing pending: applied in the write, its inbox row stored applied; a deactivation revokes before the 200', async () => {
    const scim = await createDirectory(ctx, service, 'org_write_fast');
    // The directory's activation is pending: the first write goes through the drain.
    const first = await scim.request('POST', '/Users', user('first@fast.example'));
    expect(first.status).toBe(201);
    expect((await inboxOf('org_write_fast')).every((r) => r.status === 'applied')).toBe(true);

    const created = await scim.request('POST', '/Users', user('second@fast.example'));
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(await userRow(ctx, id)).toMatchObject({ state: 'active', email: 'second@fast.example' });
    const rows = await inboxOf('org_write_fast');
    expect(rows.at(-1)).toMatchObject({
      event_type: 'dsync.user.created',
      status: 'applied',
      attempts: 1,
    });
    expect(rows.at(-1)?.applied_at).toBeInstanceOf(Date);

    await addSessions(ctx, id, 2);
    const off = await scim.request('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    expect(off.status).toBe(200);
    expect(await liveSessions(ctx, id)).toBe(0);
    const audit = await auditOf(ctx, (await userRow(ctx, id))!.id);
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining(['user_deprovisioned', 'sessions_revoked']),
    );
    expect(audit.every((a) => a.actor === `scim:${scim.directoryId}`)).toBe(true);
    const outbox = await ctx.db
      .selectFrom('revocation_outbox')
      .select(['event_id', 'reason'])
      .where('organization_id', '=', 'org_write_fast')
      .execute();
    expect(outbox).toHaveLength(1);
    expect(outbox[0]?.reason).toBe('user_inactive');
    const pending = (await inboxOf('org_write_fast')).filter((r) => r.status !== 'applied');
    expect(pending).toEqual([]);
  });

  it('events pending ahead: the write is stored pending and applied after them, in order', async () => {
    const scim = await createDirectory(ctx, service, 'org_write_queued');
    expect((await scim.request('POST', '/Users', user('warm@queued.example'))).status).toBe(201);
    // An event of the same organization, stored pending before the write (say a
    // webhook whose drain has not run yet).
    const ahead = wireEvent(
      'dsync.user.created',
      userData({
        id: 'directory_user_ahead',
        org: 'org_write_queued',
        directory: 'directory_workos_ahead',
        updatedAt: Date.now() - 60_000,
      }),
      Date.now() - 60_000,
    );
    await storeEvents(ctx.db, [ahead]);

    const created = await scim.request('POST', '/Users', user('late@queued.example'));
    expect(created.status).toBe(201);
    expect(await userRow(ctx, created.body.id as string)).toMatchObject({ state: 'active' });
    // The drain applied the event ahead too: the write did not pass it.
    const rows = await inboxOf('org_write_queued');
    expect(rows.find((r) => r.event_id === ahead.id)?.status).toBe('applied');
    expect(rows.every((r) => r.status === 'applied')).toBe(true);
    const org = await ctx.db
      .selectFrom('organizations')
      .select('last_applied_event_id')
      .where('id', '=', 'org_write_queued')
      .executeTakeFirstOrThrow();
    expect(org.last_applied_event_id).toBe(rows.at(-1)?.event_id);
  });

  it('a paused organization: stored pending, 503, applied once resumed', async () => {
    const scim = await createDirectory(ctx, service, 'org_write_paused');
    expect((await scim.request('POST', '/Users', user('warm@paused.example'))).status).toBe(201);
    await pauseOrganization(ctx.db, 'org_write_paused');
    const paused = await scim.request('POST', '/Users', user('held@paused.example'));
    expect(paused.status).toBe(503);
    const held = (await inboxOf('org_write_paused')).at(-1);
    expect(held).toMatchObject({ event_type: 'dsync.user.created', status: 'pending' });

    await resumeOrganization(ctx.db, 'org_write_paused');
    // A retry makes no new event (the SCIM user exists) and waits for the pending one.
    const list = await scim.request(
      'GET',
      `/Users?filter=${encodeURIComponent('userName eq "held@paused.example"')}`,
    );
    const id = list.body.Resources[0].id as string;
    const retried = await scim.request('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'active', value: true }],
    });
    expect(retried.status).toBe(200);
    expect(await userRow(ctx, id)).toMatchObject({ state: 'active' });
    expect((await inboxOf('org_write_paused')).every((r) => r.status === 'applied')).toBe(true);
  });
});
