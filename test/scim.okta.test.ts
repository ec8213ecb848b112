// Okta's SCIM 2.0 requests, as its protocol reference publishes them (user lookup by
// `userName eq`, POST, GET, PUT of the whole user, deactivation and reactivation by
// PATCH with and without a path, group push with member add/remove/replace, group
// rename repeating the id, group delete), end to end against real Postgres and
// Redis: each answer shows the applied tables, and a deactivation has revoked the
// user's sessions, published the revocation and audited it before the 200.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../service.ts';
import { useTestContext } from './support/context.ts';
import {
  activeMembers,
  addSessions,
  auditOf,
  createDirectory,
  groupRow,
  liveSessions,
  type ScimClient,
  userRow,
} from './support/scim.ts';

const ctx = useTestContext('scim_okta');
let service: Service;
let okta: ScimClient;

beforeAll(async () => {
  service = await ctx.startService({ api: true, worker: false });
  okta = await createDirectory(ctx, service, 'org_okta');
});
afterAll(async () => {
  await service.stop();
});

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const oktaUser = (userName: string, givenName: string, extra: Record<string, unknown> = {}) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  userName,
  name: { givenName, familyName: 'User' },
  emails: [{ primary: true, value: userName, type: 'work' }],
  displayName: `${givenName} User`,
  locale: 'en-US',
  externalId: `00u_${givenName}`,
  groups: [],
  password: '1mz050nq',
  active: true,
  ...extra,
});

async function provision(userName: string, givenName: string): Promise<string> {
  const lookup = await okta.request(
    'GET',
    `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&startIndex=1&count=100`,
  );
  expect(lookup.status).toBe(200);
  expect(lookup.body).toMatchObject({
    totalResults: 0,
    startIndex: 1,
    itemsPerPage: 0,
    Resources: [],
  });
  const created = await okta.request('POST', '/Users', oktaUser(userName, givenName));
  expect(created.status).toBe(201);
  return created.body.id as string;
}

describe('Okta user lifecycle', () => {
  let id: string;

  it('looks the user up, creates it, and the users row exists when the 201 arrives', async () => {
    id = await provision('test.user@okta.local', 'Test');
    const row = await userRow(ctx, id);
    expect(row).toMatchObject({
      email: 'test.user@okta.local',
      first_name: 'Test',
      last_name: 'User',
      state: 'active',
      idp_id: '00u_Test',
      organization_id: 'org_okta',
      directory_id: okta.directoryId,
    });
    expect(row?.custom_attributes).toMatchObject({
      userName: 'test.user@okta.local',
      locale: 'en-US',
      displayName: 'Test User',
    });
    expect(JSON.stringify(row?.custom_attributes)).not.toContain('1mz050nq');
  });

  it('GET returns every stored attribute with meta, never the password', async () => {
    const got = await okta.request('GET', `/Users/${id}`);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    expect(got.body).toMatchObject({
      id,
      userName: 'test.user@okta.local',
      displayName: 'Test User',
      locale: 'en-US',
      externalId: '00u_Test',
      active: true,
      meta: { resourceType: 'User', location: `${okta.base}/Users/${id}` },
    });
    expect(got.body.meta.created).toBeTypeOf('string');
    expect(got.body.meta.lastModified).toBeTypeOf('string');
    expect(got.body.password).toBeUndefined();
    const found = await okta.request(
      'GET',
      `/Users?filter=${encodeURIComponent('userName eq "TEST.USER@okta.local"')}&startIndex=1&count=100`,
    );
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0].id).toBe(id);
  });

  it('PUT of the whole user (as Okta sends it, id and meta included) updates the row', async () => {
    const got = await okta.request('GET', `/Users/${id}`);
    const body = {
      ...got.body,
      name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' },
    };
    const put = await okta.request('PUT', `/Users/${id}`, body);
    expect(put.status).toBe(200);
    expect(put.body.name).toEqual({
      givenName: 'Another',
      middleName: 'Excited',
      familyName: 'User',
    });
    expect(await userRow(ctx, id)).toMatchObject({ first_name: 'Another', state: 'active' });
  });

  it('deactivation by PATCH without a path revokes live sessions, publishes and audits before the 200', async () => {
    const sessions = await addSessions(ctx, id, 2);
    const patch = await okta.request('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    expect(patch.status).toBe(200);
    expect(patch.body.active).toBe(false);
    // All of it already true when the answer arrives.
    const row = await userRow(ctx, id);
    expect(row?.state).toBe('inactive');
    expect(await liveSessions(ctx, id)).toBe(0);
    const audit = await auditOf(ctx, row!.id);
    const deprovisioned = audit.find((a) => a.action === 'user_deprovisioned');
    const revoked = audit.find((a) => a.action === 'sessions_revoked');
    expect(deprovisioned?.actor).toBe(`scim:${okta.directoryId}`);
    expect(revoked?.actor).toBe(`scim:${okta.directoryId}`);
    expect(revoked?.detail).toMatchObject({ count: 2 });
    expect((revoked!.detail as { session_ids: string[] }).session_ids.sort()).toEqual(
      sessions.sort(),
    );
  });

  it('a retried deactivation applies nothing twice', async () => {
    const before = await ctx.db
      .selectFrom('inbox')
      .select('event_id')
      .where('organization_id', '=', 'org_okta')
      .execute();
    const again = await okta.request('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    expect(again.status).toBe(200);
    const after = await ctx.db
      .selectFrom('inbox')
      .select('event_id')
      .where('organization_id', '=', 'org_okta')
      .execute();
    expect(after.length).toBe(before.length);
  });

  it('reactivation, then deactivation by PATCH with a path', async () => {
    const on = await okta.request('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { active: true } }],
    });
    expect(on.body.active).toBe(true);
    const row = await userRow(ctx, id);
    expect(row?.state).toBe('active');
    expect((await auditOf(ctx, row!.id)).map((a) => a.action)).toContain('user_reactivated');
    await addSessions(ctx, id, 1);
    const off = await okta.request('PATCH', `/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    });
    expect(off.status).toBe(200);
    expect((await userRow(ctx, id))?.state).toBe('inactive');
    expect(await liveSessions(ctx, id)).toBe(0);
  });

  it('PUT with active false (App Integration Wizard apps) deprovisions too', async () => {
    const other = await provision('aiw.user@okta.local', 'Aiw');
    await addSessions(ctx, other, 1);
    const put = await okta.request('PUT', `/Users/${other}`, {
      ...oktaUser('aiw.user@okta.local', 'Aiw'),
      id: other,
      active: false,
    });
    expect(put.status).toBe(200);
    expect((await userRow(ctx, other))?.state).toBe('inactive');
    expect(await liveSessions(ctx, other)).toBe(0);
  });
});

describe('Okta group push', () => {
  let alice: string;
  let bob: string;
  let group: string;

  beforeAll(async () => {
    alice = await provision('alice@okta.local', 'Alice');
    bob = await provision('bob@okta.local', 'Bob');
  });

  it('creates the pushed group with no members', async () => {
    const created = await okta.request('POST', '/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'Test SCIMv2',
      members: [],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      displayName: 'Test SCIMv2',
      members: [],
      meta: { resourceType: 'Group' },
    });
    group = created.body.id;
    expect(await groupRow(ctx, group)).toMatchObject({ name: 'Test SCIMv2', deleted_at: null });
  });

  it('adds and removes members in one PATCH (remove by members[value eq], add by path members)', async () => {
    const add = await okta.request('PATCH', `/Groups/${group}`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'add', path: 'members', value: [{ value: alice, display: 'alice@okta.local' }] },
      ],
    });
    expect(add.status).toBe(200);
    expect(await activeMembers(ctx, group)).toEqual([alice]);
    const swap = await okta.request('PATCH', `/Groups/${group}`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'remove', path: `members[value eq "${alice}"]` },
        { op: 'add', path: 'members', value: [{ value: bob, display: 'bob@okta.local' }] },
      ],
    });
    expect(swap.status).toBe(200);
    expect(await activeMembers(ctx, group)).toEqual([bob]);
    const got = await okta.request('GET', `/Groups/${group}`);
    expect(got.body.members).toEqual([
      { value: bob, display: 'Bob User', $ref: `${okta.base}/Users/${bob}` },
    ]);
  });

  it('replace of members with the full list', async () => {
    const replace = await okta.request('PATCH', `/Groups/${group}`, {
      schemas: [PATCH_OP],
      Operations: [
        {
          op: 'replace',
          path: 'members',
          value: [
            { value: alice, display: 'alice@okta.local' },
            { value: bob, display: 'bob@okta.local' },
          ],
        },
      ],
    });
    expect(replace.status).toBe(200);
    expect(await activeMembers(ctx, group)).toEqual([alice, bob].sort());
  });

  it('renames the group with the id repeated in the value', async () => {
    const rename = await okta.request('PATCH', `/Groups/${group}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { id: group, displayName: 'Test SCIMv20' } }],
    });
    expect(rename.status).toBe(200);
    expect(rename.body.displayName).toBe('Test SCIMv20');
    expect((await groupRow(ctx, group))?.name).toBe('Test SCIMv20');
    expect(await activeMembers(ctx, group)).toEqual([alice, bob].sort());
  });

  it('PUT of the whole group (AIW integrations): members replaced by the list sent', async () => {
    // An app integration made with the AIW sends group renames and membership
    // changes as a PUT of the whole group, `members` included.
    const put = await okta.request('PUT', `/Groups/${group}`, {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      id: group,
      displayName: 'Test SCIMv20',
      members: [{ value: bob, display: 'bob@okta.local' }],
    });
    expect(put.status).toBe(200);
    expect(await activeMembers(ctx, group)).toEqual([bob]);
    const back = await okta.request('PUT', `/Groups/${group}`, {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      id: group,
      displayName: 'Test SCIMv20',
      members: [
        { value: alice, display: 'alice@okta.local' },
        { value: bob, display: 'bob@okta.local' },
      ],
    });
    expect(back.status).toBe(200);
    expect(await activeMembers(ctx, group)).toEqual([alice, bob].sort());
  });

  it('PUT without members (RFC 7644 §3.5.1: it replaces the group): no members left', async () => {
    const whole = {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'Test SCIMv20',
    };
    const put = await okta.request('PUT', `/Groups/${group}`, whole);
    expect(put.status).toBe(200);
    expect(await activeMembers(ctx, group)).toEqual([]);
    const restored = await okta.request('PUT', `/Groups/${group}`, {
      ...whole,
      members: [{ value: alice }, { value: bob }],
    });
    expect(restored.status).toBe(200);
    expect(await activeMembers(ctx, group)).toEqual([alice, bob].sort());
  });

  it('a role-granting group revokes a removed member’s sessions', async () => {
    await ctx.db
      .updateTable('groups')
      .set({ grants_role: 'admin' })
      .where('directory_group_id', '=', group)
      .execute();
    await addSessions(ctx, alice, 1);
    const remove = await okta.request('PATCH', `/Groups/${group}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'remove', path: `members[value eq "${alice}"]` }],
    });
    expect(remove.status).toBe(200);
    expect(await activeMembers(ctx, group)).toEqual([bob]);
    expect(await liveSessions(ctx, alice)).toBe(0);
  });

  it('deletes the group: 204, the group row tombstoned and its memberships ended', async () => {
    const del = await okta.request('DELETE', `/Groups/${group}`);
    expect(del.status).toBe(204);
    expect((await groupRow(ctx, group))?.deleted_at).not.toBeNull();
    expect(await activeMembers(ctx, group)).toEqual([]);
    expect((await okta.request('GET', `/Groups/${group}`)).status).toBe(404);
  });
});
