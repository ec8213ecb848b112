import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../common/service.ts';
import { useTestContext } from './support/context.ts';
import { createDirectory } from './support/scim.ts';

const ctx = useTestContext('scim_smoke');
let service: Service;
beforeAll(async () => {
  service = await ctx.startService({ api: true, worker: false });
});
afterAll(async () => {
  await service.stop();
});

describe('smoke', () => {
  it('creates a user', async () => {
    const c = await createDirectory(ctx, service, 'org_smoke');
    const r = await c.request('POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'a@example.com',
      name: { givenName: 'A', familyName: 'B' },
      emails: [{ value: 'a@example.com', primary: true }],
      active: true,
    });
    console.log(r.status, r.headers.get('content-type'), r.body);
    const users = await ctx.db.selectFrom('users').selectAll().execute();
    console.log(users);
    const audit = await ctx.db.selectFrom('audit_log').selectAll().execute();
    console.log(audit);
    expect(r.status).toBe(201);
  });
});
