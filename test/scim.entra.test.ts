// Microsoft Entra ID's SCIM requests, as its provisioning documentation publishes
// them (with and without the aadOptscim062020 flag): create with the enterprise
// extension, lookups by userName and by emails[type eq "work"].value, PascalCase
// "Replace"/"Add"/"Remove", enterprise attributes by full URN path and as URN keys of
// a path-less value, `active` as the string "False", the periodic `active: true`
// PATCH, groups with excludedAttributes=members, member removal as `path: "members"`
// with a value array and as `members[value eq "…"]`, a Replace of members with the
// full list, and DELETE.
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

const ctx = useTestContext('scim_entra');
let service: Service;
let entra: ScimClient;

beforeAll(async () => {
  service = await ctx.startService({ api: true, worker: false });
  entra = await createDirectory(ctx, service, 'org_entra');
});
afterAll(async () => {
  await service.stop();
});

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const patch = (Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

function entraUser(n: number) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
    externalId: `0a21f0f2-8d2a-4f8e-bf98-7363c4aed4e${n}`,
    userName: `Test_User_${n}@testuser.com`,
    active: true,
    emails: [{ primary: true, type: 'work', value: `Test_User_${n}_mail@testuser.com` }],
    meta: { resourceType: 'User' },
    name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    roles: [],
    [ENTERPRISE]: { employeeNumber: `E${n}`, department: 'Sales', manager: { value: 'mgr-1' } },
  };
}

async function create(n: number): Promise<string> {
  const lookup = await entra.request(
    'GET',
    `/Users?filter=${encodeURIComponent(`userName eq "Test_User_${n}@testuser.com"`)}`,
  );
  expect(lookup.body.totalResults).toBe(0);
  const created = await entra.request('POST', '/Users', entraUser(n));
  expect(created.status).toBe(201);
  return created.body.id;
}

describe('Entra ID users', () => {
  let id: string;

  it('creates a user with the enterprise extension; custom_attributes keep it', async () => {
    id = await create(1);
    const row = await userRow(ctx, id);
    expect(row).toMatchObject({
      email: 'Test_User_1_mail@testuser.com',
      first_name: 'givenName',
      last_name: 'familyName',
      state: 'active',
      idp_id: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4e1',
    });
    expect(row?.custom_attributes[ENTERPRISE]).toEqual({
      employeeNumber: 'E1',
      department: 'Sales',
      manager: { value: 'mgr-1' },
    });
    const got = await entra.request('GET', `/Users/${id}`);
    expect(got.body.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE]);
    expect(got.body[ENTERPRISE].department).toBe('Sales');
  });

  it('finds the user by userName and by emails[type eq "work"].value', async () => {
    const byName = await entra.request(
      'GET',
      `/Users?filter=${encodeURIComponent('userName eq "Test_User_1@testuser.com"')}`,
    );
    expect(byName.body.totalResults).toBe(1);
    const byMail = await entra.request(
      'GET',
      `/Users?filter=${encodeURIComponent('emails[type eq "work"].value eq "test_user_1_mail@testuser.com"')}`,
    );
    expect(byMail.body.totalResults).toBe(1);
    expect(byMail.body.Resources[0].id).toBe(id);
    const wrongType = await entra.request(
      'GET',
      `/Users?filter=${encodeURIComponent('emails[type eq "home"].value eq "Test_User_1_mail@testuser.com"')}`,
    );
    expect(wrongType.body.totalResults).toBe(0);
  });

  it('PascalCase Replace of several attributes, an enterprise one by full URN path', async () => {
    const r = await entra.request(
      'PATCH',
      `/Users/${id}`,
      patch([
        { op: 'Replace', path: 'displayName', value: 'Pvlo' },
        {
          op: 'Replace',
          path: 'emails[type eq "work"].value',
          value: 'TestBcwqnm@test.microsoft.com',
        },
        { op: 'Replace', path: 'name.givenName', value: 'Gtfd' },
        { op: 'Replace', path: 'name.familyName', value: 'Pkqf' },
        { op: 'Replace', path: 'externalId', value: 'Eqpj' },
        { op: 'Replace', path: `${ENTERPRISE}:employeeNumber`, value: 'Eqpj' },
      ]),
    );
    expect(r.status).toBe(200);
    expect(await userRow(ctx, id)).toMatchObject({
      email: 'TestBcwqnm@test.microsoft.com',
      first_name: 'Gtfd',
      last_name: 'Pkqf',
      idp_id: 'Eqpj',
    });
    expect((await userRow(ctx, id))?.custom_attributes[ENTERPRISE]).toMatchObject({
      employeeNumber: 'Eqpj',
      department: 'Sales',
    });
  });

  it('the flagged form: a path-less replace with dotted and URN keys, and an Add', async () => {
    const r = await entra.request(
      'PATCH',
      `/Users/${id}`,
      patch([
        {
          op: 'replace',
          path: 'emails[type eq "work"].value',
          value: 'TestMhvaes@test.microsoft.com',
        },
        {
          op: 'replace',
          value: {
            displayName: 'Bjfe',
            'name.givenName': 'Kkom',
            'name.familyName': 'Unua',
            [`${ENTERPRISE}:employeeNumber`]: 'Aklq',
          },
        },
        { op: 'Add', path: 'nickName', value: 'Babs' },
      ]),
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      displayName: 'Bjfe',
      nickName: 'Babs',
      name: { givenName: 'Kkom', familyName: 'Unua' },
    });
    expect(r.body[ENTERPRISE]).toMatchObject({ employeeNumber: 'Aklq', department: 'Sales' });
    expect(await userRow(ctx, id)).toMatchObject({
      email: 'TestMhvaes@test.microsoft.com',
      first_name: 'Kkom',
      last_name: 'Unua',
    });
  });

  it('renames userName by PATCH', async () => {
    const r = await entra.request(
      'PATCH',
      `/Users/${id}`,
      patch([{ op: 'Replace', path: 'userName', value: 'renamed@testuser.com' }]),
    );
    expect(r.body.userName).toBe('renamed@testuser.com');
    expect((await userRow(ctx, id))?.custom_attributes.userName).toBe('renamed@testuser.com');
  });

  it('disables with "active": "False" (a string): sessions revoked before the 200', async () => {
    await addSessions(ctx, id, 3);
    const r = await entra.request(
      'PATCH',
      `/Users/${id}`,
      patch([{ op: 'Replace', path: 'active', value: 'False' }]),
    );
    expect(r.status).toBe(200);
    expect(r.body.active).toBe(false);
    expect((await userRow(ctx, id))?.state).toBe('inactive');
    expect(await liveSessions(ctx, id)).toBe(0);
  });

  it('the periodic active: true PATCH reactivates a disabled user, and changes nothing when repeated', async () => {
    const on = await entra.request(
      'PATCH',
      `/Users/${id}`,
      patch([{ op: 'Replace', path: 'active', value: 'True' }]),
    );
    expect(on.body.active).toBe(true);
    const row = await userRow(ctx, id);
    expect(row?.state).toBe('active');
    const auditBefore = (await auditOf(ctx, row!.id)).length;
    const events = async () =>
      (
        await ctx.db
          .selectFrom('inbox')
          .select('event_id')
          .where('organization_id', '=', 'org_entra')
          .execute()
      ).length;
    const eventsBefore = await events();
    for (let i = 0; i < 3; i++) {
      const again = await entra.request(
        'PATCH',
        `/Users/${id}`,
        patch([{ op: 'replace', path: 'active', value: true }]),
      );
      expect(again.status).toBe(200);
    }
    expect(await events()).toBe(eventsBefore);
    expect((await auditOf(ctx, row!.id)).length).toBe(auditBefore);
  });

  it('DELETE: 204, the user tombstoned, sessions revoked, GET 404', async () => {
    await addSessions(ctx, id, 1);
    const del = await entra.request('DELETE', `/Users/${id}`);
    expect(del.status).toBe(204);
    const row = await userRow(ctx, id);
    expect(row?.deleted_at).not.toBeNull();
    expect(row?.state).toBe('inactive');
    expect(await liveSessions(ctx, id)).toBe(0);
    expect((await entra.request('GET', `/Users/${id}`)).status).toBe(404);
    expect((await entra.request('DELETE', `/Users/${id}`)).status).toBe(404);
  });
});

describe('Entra ID groups', () => {
  const users: string[] = [];
  let group: string;

  beforeAll(async () => {
    for (const n of [11, 12, 13, 14]) users.push(await create(n));
  });

  it('creates a group (extra schema URN and meta in the body) and finds it by displayName', async () => {
    const created = await entra.request('POST', '/Groups', {
      schemas: [
        'urn:ietf:params:scim:schemas:core:2.0:Group',
        'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group',
      ],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
      meta: { resourceType: 'Group' },
    });
    expect(created.status).toBe(201);
    group = created.body.id;
    expect(await groupRow(ctx, group)).toMatchObject({
      name: 'displayName',
      idp_id: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
    });
    const found = await entra.request(
      'GET',
      `/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "displayName"')}`,
    );
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0].members).toBeUndefined();
    const got = await entra.request('GET', `/Groups/${group}?excludedAttributes=members`);
    expect(got.body).toMatchObject({ id: group, displayName: 'displayName' });
    expect(got.body.members).toBeUndefined();
  });

  it('Add members, then Remove with path "members" and a value array (the unflagged form)', async () => {
    const add = await entra.request(
      'PATCH',
      `/Groups/${group}`,
      patch([{ op: 'Add', path: 'members', value: users.map((value) => ({ $ref: null, value })) }]),
    );
    expect(add.status).toBe(200);
    expect(await activeMembers(ctx, group)).toEqual([...users].sort());
    const remove = await entra.request(
      'PATCH',
      `/Groups/${group}`,
      patch([{ op: 'Remove', path: 'members', value: [{ $ref: null, value: users[0] }] }]),
    );
    expect(remove.status).toBe(200);
    // Only that member went: the group was not wiped.
    expect(await activeMembers(ctx, group)).toEqual(users.slice(1).sort());
  });

  it('removes a member by members[value eq "…"] (the flagged form)', async () => {
    const r = await entra.request(
      'PATCH',
      `/Groups/${group}`,
      patch([{ op: 'remove', path: `members[value eq "${users[1]}"]` }]),
    );
    expect(r.status).toBe(200);
    expect(await activeMembers(ctx, group)).toEqual(users.slice(2).sort());
  });

  it('a Replace of members with the full list ends the others and adds the new', async () => {
    const r = await entra.request(
      'PATCH',
      `/Groups/${group}`,
      patch([
        { op: 'Replace', path: 'members', value: [{ value: users[0] }, { value: users[3] }] },
      ]),
    );
    expect(r.status).toBe(200);
    expect(await activeMembers(ctx, group)).toEqual([users[0], users[3]].sort());
  });

  it('renames with Replace displayName', async () => {
    const r = await entra.request(
      'PATCH',
      `/Groups/${group}`,
      patch([{ op: 'Replace', path: 'displayName', value: 'renamed' }]),
    );
    expect(r.status).toBe(200);
    expect((await groupRow(ctx, group))?.name).toBe('renamed');
  });

  it('deleting a member user ends its memberships', async () => {
    expect((await entra.request('DELETE', `/Users/${users[3]}`)).status).toBe(204);
    expect(await activeMembers(ctx, group)).toEqual([users[0]]);
    const got = await entra.request('GET', `/Groups/${group}`);
    expect(got.body.members.map((m: { value: string }) => m.value)).toEqual([users[0]]);
  });

  it('DELETE group', async () => {
    expect((await entra.request('DELETE', `/Groups/${group}`)).status).toBe(204);
    expect((await groupRow(ctx, group))?.deleted_at).not.toBeNull();
    expect(await activeMembers(ctx, group)).toEqual([]);
  });
});
