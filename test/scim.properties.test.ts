// Property: any sequence of SCIM operations sent over HTTP (creates, PUTs, PATCHes in
// Okta's and Entra ID's forms, deletes, member add/remove/replace) ends in the same
// tables (users, groups, group_memberships) as an in-memory model of RFC 7644's
// semantics, and every answer's status is the model's.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Service } from '../service.ts';
import { useTestContext } from './support/context.ts';
import { createDirectory, type ScimClient } from './support/scim.ts';

const ctx = useTestContext('scim_properties');
vi.setConfig({ testTimeout: 300_000 });
let service: Service;
let run = 0;

beforeAll(async () => {
  service = await ctx.startService({ api: true, worker: false });
});
afterAll(async () => {
  await service.stop();
});

interface ModelUser {
  userName: string;
  givenName: string;
  active: boolean;
  deleted: boolean;
}
interface ModelGroup {
  displayName: string;
  members: Set<string>;
  deleted: boolean;
}

type Op =
  | { kind: 'createUser'; name: number; given: string }
  | { kind: 'putUser'; user: number; given: string; active: boolean }
  | { kind: 'setActive'; user: number; active: boolean; form: 'okta' | 'oktaPath' | 'entraString' }
  | { kind: 'renameUser'; user: number; name: number }
  | { kind: 'deleteUser'; user: number }
  | { kind: 'createGroup'; name: number; members: number[] }
  | { kind: 'addMembers'; group: number; users: number[] }
  | { kind: 'removeMember'; group: number; user: number; form: 'filter' | 'valueArray' }
  | { kind: 'replaceMembers'; group: number; users: number[] }
  | { kind: 'renameGroup'; group: number; name: number }
  | { kind: 'deleteGroup'; group: number };

const idx = fc.nat(20);
const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('createUser' as const),
      name: fc.nat(8),
      given: fc.constantFrom('Ada', 'Bo', 'Cy'),
    }),
  },
  fc.record({
    kind: fc.constant('putUser' as const),
    user: idx,
    given: fc.constantFrom('Di', 'Ed'),
    active: fc.boolean(),
  }),
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('setActive' as const),
      user: idx,
      active: fc.boolean(),
      form: fc.constantFrom('okta' as const, 'oktaPath' as const, 'entraString' as const),
    }),
  },
  fc.record({ kind: fc.constant('renameUser' as const), user: idx, name: fc.nat(8) }),
  fc.record({ kind: fc.constant('deleteUser' as const), user: idx }),
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('createGroup' as const),
      name: fc.nat(3),
      members: fc.array(idx, { maxLength: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('addMembers' as const),
      group: idx,
      users: fc.array(idx, { minLength: 1, maxLength: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('removeMember' as const),
      group: idx,
      user: idx,
      form: fc.constantFrom('filter' as const, 'valueArray' as const),
    }),
  },
  fc.record({
    kind: fc.constant('replaceMembers' as const),
    group: idx,
    users: fc.array(idx, { maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('renameGroup' as const), group: idx, name: fc.nat(3) }),
  fc.record({ kind: fc.constant('deleteGroup' as const), group: idx }),
);

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const userName = (n: number) => `Person${n}@Prop.example`;

/** Applies one operation to the model and over HTTP; checks the status. */
async function step(
  c: ScimClient,
  op: Op,
  users: Map<string, ModelUser>,
  groups: Map<string, ModelGroup>,
) {
  const userIds = [...users.keys()];
  const groupIds = [...groups.keys()];
  const pick = <T>(list: T[], i: number) => (list.length === 0 ? undefined : list[i % list.length]);
  const live = (id: string | undefined) => (id ? users.get(id) && !users.get(id)!.deleted : false);
  const taken = (name: string, except?: string) =>
    [...users.entries()].some(
      ([id, u]) => id !== except && !u.deleted && u.userName.toLowerCase() === name.toLowerCase(),
    );

  switch (op.kind) {
    case 'createUser': {
      const name = userName(op.name);
      const r = await c.request('POST', '/Users', {
        userName: name,
        name: { givenName: op.given, familyName: 'F' },
      });
      if (taken(name)) return expect(r.status).toBe(409);
      expect(r.status).toBe(201);
      users.set(r.body.id, { userName: name, givenName: op.given, active: true, deleted: false });
      return;
    }
    case 'putUser': {
      const id = pick(userIds, op.user);
      if (!id) return;
      const u = users.get(id)!;
      const r = await c.request('PUT', `/Users/${id}`, {
        userName: u.userName,
        name: { givenName: op.given, familyName: 'F' },
        active: op.active,
      });
      if (!live(id)) return expect(r.status).toBe(404);
      expect(r.status).toBe(200);
      u.givenName = op.given;
      u.active = op.active;
      return;
    }
    case 'setActive': {
      const id = pick(userIds, op.user);
      if (!id) return;
      const operation =
        op.form === 'okta'
          ? { op: 'replace', value: { active: op.active } }
          : op.form === 'oktaPath'
            ? { op: 'replace', path: 'active', value: op.active }
            : { op: 'Replace', path: 'active', value: op.active ? 'True' : 'False' };
      const r = await c.request('PATCH', `/Users/${id}`, {
        schemas: [PATCH_OP],
        Operations: [operation],
      });
      if (!live(id)) return expect(r.status).toBe(404);
      expect(r.status).toBe(200);
      users.get(id)!.active = op.active;
      return;
    }
    case 'renameUser': {
      const id = pick(userIds, op.user);
      if (!id) return;
      const name = userName(op.name).toUpperCase();
      const r = await c.request('PATCH', `/Users/${id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', path: 'userName', value: name }],
      });
      if (!live(id)) return expect(r.status).toBe(404);
      if (taken(name, id)) return expect(r.status).toBe(409);
      expect(r.status).toBe(200);
      users.get(id)!.userName = name;
      return;
    }
    case 'deleteUser': {
      const id = pick(userIds, op.user);
      if (!id) return;
      const r = await c.request('DELETE', `/Users/${id}`);
      if (!live(id)) return expect(r.status).toBe(404);
      expect(r.status).toBe(204);
      users.get(id)!.deleted = true;
      for (const g of groups.values()) g.members.delete(id);
      return;
    }
    case 'createGroup': {
      const members = [
        ...new Set(op.members.map((i) => pick(userIds, i)).filter((x): x is string => !!x)),
      ];
      const r = await c.request('POST', '/Groups', {
        displayName: `Group ${op.name}`,
        members: members.map((value) => ({ value })),
      });
      if (members.some((m) => !live(m))) return expect(r.status).toBe(400);
      expect(r.status).toBe(201);
      groups.set(r.body.id, {
        displayName: `Group ${op.name}`,
        members: new Set(members),
        deleted: false,
      });
      return;
    }
    case 'addMembers':
    case 'replaceMembers': {
      const id = pick(groupIds, op.group);
      if (!id) return;
      const members = [
        ...new Set(op.users.map((i) => pick(userIds, i)).filter((x): x is string => !!x)),
      ];
      const r = await c.request('PATCH', `/Groups/${id}`, {
        schemas: [PATCH_OP],
        Operations: [
          {
            op: op.kind === 'addMembers' ? 'Add' : 'replace',
            path: 'members',
            value: members.map((value) => ({ value })),
          },
        ],
      });
      const g = groups.get(id)!;
      if (g.deleted) return expect(r.status).toBe(404);
      if (members.some((m) => !live(m))) return expect(r.status).toBe(400);
      expect(r.status).toBe(200);
      if (op.kind === 'replaceMembers') g.members = new Set(members);
      else for (const m of members) g.members.add(m);
      return;
    }
    case 'removeMember': {
      const id = pick(groupIds, op.group);
      const user = pick(userIds, op.user);
      if (!id || !user) return;
      const operation =
        op.form === 'filter'
          ? { op: 'remove', path: `members[value eq "${user}"]` }
          : { op: 'Remove', path: 'members', value: [{ value: user }] };
      const r = await c.request('PATCH', `/Groups/${id}`, {
        schemas: [PATCH_OP],
        Operations: [operation],
      });
      const g = groups.get(id)!;
      if (g.deleted) return expect(r.status).toBe(404);
      expect(r.status).toBe(200);
      g.members.delete(user);
      return;
    }
    case 'renameGroup': {
      const id = pick(groupIds, op.group);
      if (!id) return;
      const r = await c.request('PATCH', `/Groups/${id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', value: { id, displayName: `Group ${op.name}` } }],
      });
      const g = groups.get(id)!;
      if (g.deleted) return expect(r.status).toBe(404);
      expect(r.status).toBe(200);
      g.displayName = `Group ${op.name}`;
      return;
    }
    case 'deleteGroup': {
      const id = pick(groupIds, op.group);
      if (!id) return;
      const r = await c.request('DELETE', `/Groups/${id}`);
      const g = groups.get(id)!;
      if (g.deleted) return expect(r.status).toBe(404);
      expect(r.status).toBe(204);
      g.deleted = true;
      g.members.clear();
      return;
    }
  }
}

async function tables(directoryId: string) {
  const users = await ctx.db
    .selectFrom('users')
    .selectAll()
    .where('directory_id', '=', directoryId)
    .execute();
  const groups = await ctx.db
    .selectFrom('groups')
    .selectAll()
    .where('directory_id', '=', directoryId)
    .execute();
  const memberships = await ctx.db
    .selectFrom('group_memberships as m')
    .innerJoin('groups as g', 'g.id', 'm.group_id')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['g.directory_group_id as g', 'u.directory_user_id as u'])
    .where('g.directory_id', '=', directoryId)
    .where('m.removed_at', 'is', null)
    .execute();
  return {
    users: Object.fromEntries(
      users.map((u) => [
        u.directory_user_id,
        { email: u.email, first: u.first_name, state: u.state, deleted: u.deleted_at !== null },
      ]),
    ),
    groups: Object.fromEntries(
      groups.map((g) => [g.directory_group_id, { name: g.name, deleted: g.deleted_at !== null }]),
    ),
    memberships: memberships.map((m) => `${m.g}|${m.u}`).sort(),
  };
}

function expected(users: Map<string, ModelUser>, groups: Map<string, ModelGroup>) {
  return {
    users: Object.fromEntries(
      [...users].map(([id, u]) => [
        id,
        {
          email: u.userName,
          first: u.givenName,
          state: u.deleted || !u.active ? 'inactive' : 'active',
          deleted: u.deleted,
        },
      ]),
    ),
    groups: Object.fromEntries(
      [...groups].map(([id, g]) => [id, { name: g.displayName, deleted: g.deleted }]),
    ),
    memberships: [...groups].flatMap(([id, g]) => [...g.members].map((u) => `${id}|${u}`)).sort(),
  };
}

describe('SCIM over HTTP against a model', () => {
  it('any sequence of operations ends in the model’s tables', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary, { minLength: 1, maxLength: 25 }), async (ops) => {
        const c = await createDirectory(ctx, service, `org_prop_${run++}`);
        const users = new Map<string, ModelUser>();
        const groups = new Map<string, ModelGroup>();
        for (const op of ops) await step(c, op, users, groups);
        expect(await tables(c.directoryId)).toEqual(expected(users, groups));
      }),
      { numRuns: 25 },
    );
  });
});
