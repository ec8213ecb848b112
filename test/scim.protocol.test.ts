// The SCIM contract's edges: bearer tokens (missing, wrong, another directory's,
// rotated with and without grace, a deleted directory's), every error status and
// scimType with an RFC 7644 §3.12 body, 413, application/json accepted, no 500 for
// any bad input, pagination with numeric counts, filters, attributes projection and
// discovery.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withOverrides } from '../common/config.ts';
import { deleteScimDirectory, rotateScimDirectoryToken } from '../common/scim/directories.ts';
import type { Service } from '../service.ts';
import { useTestContext } from './support/context.ts';
import { client, createDirectory, type ScimClient, TEST_ACTOR } from './support/scim.ts';

const ctx = useTestContext('scim_protocol');
let service: Service;
let a: ScimClient;
let b: ScimClient;

beforeAll(async () => {
  service = await ctx.startService({ api: true, worker: false });
  a = await createDirectory(ctx, service, 'org_proto_a');
  b = await createDirectory(ctx, service, 'org_proto_b');
});
afterAll(async () => {
  await service.stop();
});

const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const user = (userName: string, extra: Record<string, unknown> = {}) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  userName,
  name: { givenName: 'G', familyName: 'F' },
  emails: [{ value: userName, type: 'work', primary: true }],
  ...extra,
});
const patch = (Operations: unknown) => ({
  schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
  Operations,
});

function expectError(
  r: { status: number; headers: Headers; body: unknown },
  status: number,
  scimType?: string,
) {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/scim\+json/);
  expect(r.body).toMatchObject({ schemas: [ERROR], status: String(status) });
  if (scimType) expect((r.body as { scimType?: string }).scimType).toBe(scimType);
  expect(typeof (r.body as { detail?: unknown }).detail).toBe('string');
}

describe('authentication', () => {
  it('refuses a missing, malformed or wrong token with 401', async () => {
    const none = await fetch(`${service.address}/scim/v2/${a.directoryId}/Users`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expectError({ status: none.status, headers: none.headers, body: await none.json() }, 401);
    expectError(await client(service, a.directoryId, 'dscim_wrong').request('GET', '/Users'), 401);
    expectError(
      await a.request('GET', '/Users', undefined, { authorization: `Basic ${a.token}` }),
      401,
    );
    expectError(await client(service, 'directory_nope', a.token).request('GET', '/Users'), 401);
  });

  it('a token opens only its own directory', async () => {
    expectError(await client(service, b.directoryId, a.token).request('GET', '/Users'), 401);
    expectError(
      await client(service, a.directoryId, b.token).request('POST', '/Users', user('x@b.example')),
      401,
    );
    expect((await a.request('GET', '/Users')).status).toBe(200);
  });

  it('a rotated token stops at once with no grace, and after the grace with one', async () => {
    const c = await createDirectory(ctx, service, 'org_proto_rot');
    const rotated = await rotateScimDirectoryToken(
      { db: ctx.db, config: ctx.config, actor: TEST_ACTOR },
      c.directoryId,
    );
    expectError(await c.request('GET', '/Users'), 401);
    const fresh = client(service, c.directoryId, rotated.token);
    expect((await fresh.request('GET', '/Users')).status).toBe(200);
    const graceful = await rotateScimDirectoryToken(
      {
        db: ctx.db,
        config: withOverrides(ctx.config, { SCIM_TOKEN_GRACE_MS: 3_600_000 }),
        actor: TEST_ACTOR,
      },
      c.directoryId,
    );
    expect((await fresh.request('GET', '/Users')).status).toBe(200);
    expect(
      (await client(service, c.directoryId, graceful.token).request('GET', '/Users')).status,
    ).toBe(200);
    // The grace ends: moved into the past as if the hour had gone.
    await ctx.db
      .updateTable('scim_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('directory_id', '=', c.directoryId)
      .where('expires_at', 'is not', null)
      .execute();
    expectError(await fresh.request('GET', '/Users'), 401);
  });

  it('tokens are stored only as hashes', async () => {
    const rows = await ctx.db.selectFrom('scim_tokens').select('token_hash').execute();
    for (const r of rows) {
      expect(r.token_hash.length).toBe(32);
      expect(r.token_hash.toString('utf8')).not.toContain('dscim_');
    }
  });
});

describe('errors', () => {
  let id: string;
  beforeAll(async () => {
    id = (await a.request('POST', '/Users', user('Taken@Example.com'))).body.id;
  });

  it('404 for unknown resources and endpoints', async () => {
    expectError(await a.request('GET', '/Users/nobody'), 404);
    expectError(await a.request('PUT', '/Users/nobody', user('n@example.com')), 404);
    expectError(
      await a.request(
        'PATCH',
        '/Users/nobody',
        patch([{ op: 'replace', path: 'active', value: false }]),
      ),
      404,
    );
    expectError(await a.request('DELETE', '/Groups/nobody'), 404);
    expectError(await a.request('GET', '/Nothing'), 404);
    expectError(await a.request('GET', '/Schemas/urn:nope'), 404);
  });

  it('409 uniqueness for a userName already in the directory, whatever its case', async () => {
    expectError(await a.request('POST', '/Users', user('taken@example.COM')), 409, 'uniqueness');
    const other = (await a.request('POST', '/Users', user('other@example.com'))).body.id;
    expectError(
      await a.request('PUT', `/Users/${other}`, user('TAKEN@example.com')),
      409,
      'uniqueness',
    );
    expectError(
      await a.request(
        'PATCH',
        `/Users/${other}`,
        patch([{ op: 'replace', path: 'userName', value: 'taken@EXAMPLE.com' }]),
      ),
      409,
      'uniqueness',
    );
    // Another directory may use it.
    expect((await b.request('POST', '/Users', user('taken@example.com'))).status).toBe(201);
  });

  it('400 invalidFilter', async () => {
    for (const f of [
      'userName eq',
      'nickName eq "x"',
      'userName gt "a"',
      'members[value eq "x"]',
      '(((',
    ]) {
      expectError(
        await a.request('GET', `/Users?filter=${encodeURIComponent(f)}`),
        400,
        'invalidFilter',
      );
    }
    expectError(
      await a.request('GET', `/Groups?filter=${encodeURIComponent('emails.value eq "x"')}`),
      400,
      'invalidFilter',
    );
  });

  it('400 invalidSyntax', async () => {
    expectError(await a.request('POST', '/Users', '{"userName": '), 400, 'invalidSyntax');
    expectError(await a.request('POST', '/Users', '[1,2]'), 400, 'invalidSyntax');
    expectError(await a.request('PATCH', `/Users/${id}`, { schemas: [] }), 400, 'invalidSyntax');
    expectError(await a.request('PATCH', `/Users/${id}`, patch([])), 400, 'invalidSyntax');
    expectError(
      await a.request('PATCH', `/Users/${id}`, patch([{ op: 'merge', path: 'title', value: 'x' }])),
      400,
      'invalidSyntax',
    );
  });

  it('400 invalidValue', async () => {
    expectError(await a.request('POST', '/Users', { schemas: [] }), 400, 'invalidValue');
    expectError(await a.request('POST', '/Users', user('')), 400, 'invalidValue');
    expectError(
      await a.request('POST', '/Users', user('v@example.com', { active: 'maybe' })),
      400,
      'invalidValue',
    );
    expectError(
      await a.request('POST', '/Users', user('v@example.com', { emails: 'v@example.com' })),
      400,
      'invalidValue',
    );
    expectError(
      await a.request('POST', '/Groups', {
        displayName: 'g',
        members: [{ value: 'no-such-user' }],
      }),
      400,
      'invalidValue',
    );
    expectError(await a.request('POST', '/Groups', { members: [] }), 400, 'invalidValue');
    expectError(
      await a.request('PATCH', `/Users/${id}`, patch([{ op: 'replace', value: 'x' }])),
      400,
      'invalidValue',
    );
    expectError(await a.request('GET', '/Users?count=ten'), 400, 'invalidValue');
  });

  it('400 noTarget, mutability and invalidPath', async () => {
    expectError(
      await a.request('PATCH', `/Users/${id}`, patch([{ op: 'remove' }])),
      400,
      'noTarget',
    );
    expectError(
      await a.request('PATCH', `/Users/${id}`, patch([{ op: 'replace', path: 'id', value: 'x' }])),
      400,
      'mutability',
    );
    expectError(
      await a.request('PATCH', `/Users/${id}`, patch([{ op: 'replace', value: { id: 'other' } }])),
      400,
      'mutability',
    );
    expectError(
      await a.request('PATCH', `/Users/${id}`, patch([{ op: 'remove', path: 'userName' }])),
      400,
      'mutability',
    );
    expectError(
      await a.request('PUT', `/Users/${id}`, user('Taken@Example.com', { id: 'other' })),
      400,
      'mutability',
    );
    expectError(
      await a.request(
        'PATCH',
        `/Users/${id}`,
        patch([{ op: 'replace', path: 'emails[type eq', value: 'x' }]),
      ),
      400,
      'invalidPath',
    );
  });

  it('413 for a body over the limit, with nothing stored', async () => {
    const before = await ctx.db.selectFrom('scim_users').select('id').execute();
    const big = user('big@example.com', { title: 'x'.repeat(ctx.config.WEBHOOK_BODY_LIMIT_BYTES) });
    expectError(await a.request('POST', '/Users', big), 413);
    expect((await ctx.db.selectFrom('scim_users').select('id').execute()).length).toBe(
      before.length,
    );
  });

  it('accepts application/json; refuses other media types with a SCIM error', async () => {
    const r = await a.request('POST', '/Users', user('json@example.com'), {
      'content-type': 'application/json',
    });
    expect(r.status).toBe(201);
    expectError(
      await a.request('POST', '/Users', 'userName=x', {
        'content-type': 'application/x-www-form-urlencoded',
      }),
      415,
    );
  });

  it('never answers 500 to bad input', async () => {
    const bodies: unknown[] = [
      null,
      1,
      'x',
      [],
      { userName: 42 },
      { userName: 'ok@x.y', name: 'str' },
      { userName: 'ok2@x.y', externalId: {} },
    ];
    for (const body of bodies) {
      const r = await a.request('POST', '/Users', JSON.stringify(body));
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
    }
    const ops: unknown[] = [
      null,
      'x',
      [null],
      [{ op: 'add' }],
      [{ op: 'add', path: 7, value: 1 }],
      [{ op: 'replace', path: 'members[', value: 1 }],
      [{ op: 'remove', path: 'emails[value eq "none"]' }],
    ];
    for (const o of ops) {
      const r = await a.request('PATCH', `/Users/${id}`, patch(o));
      expect(r.status, JSON.stringify(o)).toBeLessThan(500);
    }
    const group = (await a.request('POST', '/Groups', { displayName: 'g500' })).body.id;
    for (const o of [
      [{ op: 'add', path: 'members', value: [{}] }],
      [{ op: 'add', path: 'members', value: 'x' }],
      [{ op: 'remove', path: 'members[display eq "x"]' }],
      [{ op: 'replace', path: 'members[value eq "x"]', value: [] }],
    ]) {
      const r = await a.request('PATCH', `/Groups/${group}`, patch(o));
      expect(r.status, JSON.stringify(o)).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
    }
    const nul = '\u0000';
    expectError(
      await a.request('POST', '/Users', user(`nul${nul}@example.com`)),
      400,
      'invalidValue',
    );
    expectError(
      await a.request('POST', '/Users', user('nul2@example.com', { title: { x: nul } })),
      400,
      'invalidValue',
    );
    expectError(
      await a.request('GET', `/Users?filter=${encodeURIComponent(`userName eq "a${nul}"`)}`),
      400,
      'invalidFilter',
    );
    expectError(await a.request('GET', '/Users/a%00b'), 404);
    // Longer than any route parameter Fastify takes: refused before routing.
    expect((await a.request('DELETE', `/Users/${'x'.repeat(300)}`)).status).toBe(414);
    expectError(
      await a.request(
        'PATCH',
        `/Groups/${group}`,
        patch([{ op: 'add', path: 'members', value: [{ value: `a${nul}` }] }]),
      ),
      400,
      'invalidValue',
    );
    for (const q of [
      'startIndex=-5&count=-1',
      'count=99999',
      'attributes=,,,',
      'excludedAttributes=name.',
      'filter=',
      'filter=%22',
    ]) {
      const r = await a.request('GET', `/Users?${q}`);
      expect(r.status, q).toBeLessThan(500);
    }
  });
});

describe('lists, filters and projection', () => {
  let c: ScimClient;
  const ids: string[] = [];
  beforeAll(async () => {
    c = await createDirectory(ctx, service, 'org_proto_list');
    for (let i = 0; i < 25; i++) {
      const r = await c.request(
        'POST',
        '/Users',
        user(`person${String(i).padStart(2, '0')}@list.example`, {
          externalId: `ext-${i}`,
          displayName: `Person ${i}`,
          active: i % 5 !== 0,
        }),
      );
      ids.push(r.body.id);
    }
  });

  it('pages by startIndex and count with numeric totalResults, itemsPerPage, startIndex', async () => {
    const seen: string[] = [];
    for (let start = 1; start <= 25; start += 10) {
      const page = await c.request('GET', `/Users?startIndex=${start}&count=10`);
      expect(page.body).toMatchObject({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
        totalResults: 25,
        startIndex: start,
      });
      expect(page.body.itemsPerPage).toBe(Math.min(10, 25 - start + 1));
      seen.push(...page.body.Resources.map((r: { id: string }) => r.id));
    }
    expect(seen).toEqual([...ids].sort());
    const none = await c.request('GET', '/Users?count=0');
    expect(none.body).toMatchObject({ totalResults: 25, itemsPerPage: 0, Resources: [] });
    const past = await c.request('GET', '/Users?startIndex=100');
    expect(past.body).toMatchObject({ totalResults: 25, itemsPerPage: 0, startIndex: 100 });
    const zero = await c.request('GET', '/Users?startIndex=0&count=1');
    expect(zero.body.startIndex).toBe(1);
  });

  it('filters', async () => {
    const count = async (f: string) =>
      (await c.request('GET', `/Users?filter=${encodeURIComponent(f)}`)).body.totalResults;
    expect(await count('userName eq "PERSON03@list.example"')).toBe(1);
    expect(await count('externalId eq "ext-3"')).toBe(1);
    expect(await count('externalId eq "EXT-3"')).toBe(0); // caseExact
    expect(await count(`id eq "${ids[4]}"`)).toBe(1);
    expect(await count('displayName eq "person 7"')).toBe(1);
    expect(await count('emails.value eq "person08@list.example"')).toBe(1);
    expect(await count('emails[type eq "work"].value eq "person09@list.example"')).toBe(1);
    expect(await count('userName sw "person1"')).toBe(10);
    expect(await count('userName co "n2"')).toBe(5);
    expect(await count('userName sw "person1" and externalId eq "ext-12"')).toBe(1);
    expect(await count('externalId eq "ext-1" or externalId eq "ext-2"')).toBe(2);
    expect(await count('active eq false')).toBe(5);
    expect(await count('userName eq "nobody"')).toBe(0);
    expect(
      await count('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "person00@list.example"'),
    ).toBe(1);
  });

  it('attributes and excludedAttributes', async () => {
    const only = await c.request('GET', `/Users/${ids[1]}?attributes=userName,name.givenName`);
    expect(Object.keys(only.body).sort()).toEqual(['id', 'name', 'schemas', 'userName']);
    expect(only.body.name).toEqual({ givenName: 'G' });
    const without = await c.request('GET', `/Users?excludedAttributes=emails,name&count=1`);
    expect(without.body.Resources[0].emails).toBeUndefined();
    expect(without.body.Resources[0].name).toBeUndefined();
    expect(without.body.Resources[0].userName).toBeTypeOf('string');
  });

  it('groups list with members, and filtered by displayName', async () => {
    const g = await c.request('POST', '/Groups', {
      displayName: 'Engineering',
      externalId: 'eng',
      members: ids.slice(0, 3).map((value) => ({ value })),
    });
    expect(g.status).toBe(201);
    expect(g.body.members.map((m: { value: string }) => m.value)).toEqual(ids.slice(0, 3).sort());
    await c.request('POST', '/Groups', { displayName: 'Sales' });
    const list = await c.request('GET', '/Groups?startIndex=1&count=1');
    expect(list.body).toMatchObject({ totalResults: 2, itemsPerPage: 1 });
    const eng = await c.request(
      'GET',
      `/Groups?filter=${encodeURIComponent('displayName eq "engineering"')}`,
    );
    expect(eng.body.totalResults).toBe(1);
    expect(eng.body.Resources[0].members).toHaveLength(3);
    const ext = await c.request(
      'GET',
      `/Groups?filter=${encodeURIComponent('externalId eq "eng"')}&attributes=displayName`,
    );
    expect(ext.body.Resources[0]).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      id: g.body.id,
      displayName: 'Engineering',
    });
  });
});

describe('discovery', () => {
  it('ServiceProviderConfig, ResourceTypes and Schemas', async () => {
    const spc = await a.request('GET', '/ServiceProviderConfig');
    expect(spc.status).toBe(200);
    expect(spc.body).toMatchObject({
      patch: { supported: true },
      filter: { supported: true },
      bulk: { supported: false },
    });
    const types = await a.request('GET', '/ResourceTypes');
    expect(types.body.Resources.map((r: { id: string }) => r.id)).toEqual(['User', 'Group']);
    const schemas = await a.request('GET', '/Schemas');
    expect(schemas.body.totalResults).toBe(3);
    const userSchema = await a.request(
      'GET',
      '/Schemas/urn:ietf:params:scim:schemas:core:2.0:User',
    );
    expect(
      userSchema.body.attributes.find((x: { name: string }) => x.name === 'userName'),
    ).toMatchObject({ required: true, uniqueness: 'server' });
  });
});

describe('directory deletion', () => {
  it('deprovisions everyone in it and its tokens stop', async () => {
    const d = await createDirectory(ctx, service, 'org_proto_del');
    const u = (await d.request('POST', '/Users', user('gone@del.example'))).body.id;
    const row = await ctx.db
      .selectFrom('users')
      .select(['id'])
      .where('directory_user_id', '=', u)
      .executeTakeFirstOrThrow();
    await ctx.db.insertInto('sessions').values({ user_id: row.id }).execute();
    await deleteScimDirectory(
      {
        db: ctx.db,
        config: ctx.config,
        actor: TEST_ACTOR,
        apply: async () => {
          // As the admin API does: the drain in this process, at once.
          const { createApplyNow } = await import('../worker/apply-now.ts');
          await createApplyNow(service.resources)(d.organizationId);
        },
      },
      d.directoryId,
    );
    const after = await ctx.db
      .selectFrom('users')
      .selectAll()
      .where('directory_user_id', '=', u)
      .executeTakeFirstOrThrow();
    expect(after.state).toBe('inactive');
    expect(after.deleted_at).not.toBeNull();
    const live = await ctx.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', row.id)
      .where('revoked_at', 'is', null)
      .execute();
    expect(live).toHaveLength(0);
    const dir = await ctx.db
      .selectFrom('directories')
      .selectAll()
      .where('id', '=', d.directoryId)
      .executeTakeFirstOrThrow();
    expect(dir.deleted_at).not.toBeNull();
    expectError(await d.request('GET', '/Users'), 401);
  });
});
