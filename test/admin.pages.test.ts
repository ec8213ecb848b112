// The server-rendered admin pages: the summary strip, organizations with search and
// paging (10,000 organizations: one page of 50 rows), every badge that applies, each
// organization's page, and the buttons' form posts (audited, same origin only).
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../api/admin/status-page.ts';
import { buildServer } from '../api/server.ts';
import { useTestContext } from './support/context.ts';
import { type OperatorWorld, seedOperatorWorld } from './support/operator-fixtures.ts';
import { findOrganization } from './support/organizations.ts';

const ctx = useTestContext('admin_pages');
const TOKEN = 'pages-token-0123456789abcdef';
const browser = `Basic ${Buffer.from(`alice:${TOKEN}`).toString('base64')}`;
const MANY = 10_000;

let world: OperatorWorld;
const opened: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

async function start(overrides = {}): Promise<FastifyInstance> {
  const resources = ctx.openResources({
    ADMIN_TOKENS: [{ name: 'alice', token: TOKEN }],
    ...overrides,
  });
  const app = ctx.track('server', await buildServer(resources, { surface: 'internal' }));
  opened.push(resources, app);
  return app;
}

const get = (app: FastifyInstance, url: string) =>
  app.inject({ url, headers: { authorization: browser } });

/** A button's form post, as the browser sends it from the page. */
const press = (app: FastifyInstance, org: string, action: string, site = 'same-origin') =>
  app.inject({
    method: 'POST',
    url: `/admin/organizations/${org}/${action}`,
    headers: {
      authorization: browser,
      'sec-fetch-site': site,
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: `action=${action}`,
  });

const rowsOf = (body: string) =>
  [...body.matchAll(/<tr [^>]*data-organization="([^"]+)"/g)].map((m) => m[1]);

beforeAll(async () => {
  world = await seedOperatorWorld(ctx.db, 'pages');
  await sql`insert into ${sql.table('organizations')} (id)
    select 'org_many_' || lpad(g::text, 5, '0') from generate_series(1, ${MANY}) g`.execute(ctx.db);
  await ctx.db
    .insertInto('directories')
    .values({
      id: `directory_${world.healthy}`,
      organization_id: world.healthy,
      state: 'active',
      type: 'okta scim v2.0',
      name: 'Okta',
      source_updated_at: new Date(),
      source_event_at: new Date(),
      source_event_id: 'event_seed',
      deleted_at: null,
    })
    .execute();
});

describe('/admin', () => {
  it('shows the summary strip and one page of organizations, needing attention first', async () => {
    const app = await start();
    const res = await get(app, '/admin');
    expect(res.statusCode).toBe(200);
    const body = res.body;
    expect(body).toMatch(/id="summary"/);
    expect(body).toMatch(
      /<span class="n">2<\/span> needing attention<small>of 10003 organizations/,
    );
    expect(body).toMatch(/<span class="n">1<\/span> dead events<small>in 1 organizations/);
    expect(body).toMatch(/time to revoke p99/);
    expect(body).toMatch(/last webhook/);
    const rows = rowsOf(body);
    expect(rows).toHaveLength(PAGE_SIZE);
    expect(rows.slice(0, 2).sort()).toEqual([world.failing, world.paused].sort());
    expect(body).toContain(`1–${PAGE_SIZE} of ${MANY + 3}`);
    expect(body).toContain(`href="/admin?page=2"`);
    // 10,000 organizations, one page: the page stays small.
    expect(Buffer.byteLength(body)).toBeLessThan(120_000);
  });

  it('pages and searches', async () => {
    const app = await start();
    const second = await get(app, '/admin?page=2');
    expect(rowsOf(second.body)).toHaveLength(PAGE_SIZE);
    expect(second.body).toContain(`${PAGE_SIZE + 1}–${2 * PAGE_SIZE} of`);
    expect(rowsOf(second.body)).not.toContain(world.failing);

    const found = await get(app, '/admin?q=org_many_0999');
    expect(rowsOf(found.body)).toEqual(Array.from({ length: 10 }, (_, i) => `org_many_0999${i}`));
    expect(found.body).toContain('1–10 of 10');
    const none = await get(app, `/admin?q=${encodeURIComponent('<script>')}`);
    expect(none.body).toContain('no organization matches');
    expect(none.body).not.toContain('<script>');
    expect((await get(app, '/admin?page=0')).statusCode).toBe(400);
  });
});

describe('/admin/organizations/:id', () => {
  it('shows a paused organization with dead events as both, with its events', async () => {
    const app = await start();
    expect((await press(app, world.failing, 'pause')).statusCode).toBe(303);
    const page = await get(app, `/admin/organizations/${world.failing}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(
      /<span class="badge bad">1 dead<\/span>\s*<span class="badge warn">paused<\/span>/,
    );
    expect(page.body).toContain(world.failingEventId);
    expect(page.body).toMatch(/data-action="resume"/);
    expect(page.body).toMatch(/data-action="replay-dead"/);
    // On the list too.
    const list = await get(app, `/admin?q=${world.failing}`);
    expect(list.body).toMatch(/1 dead<\/span>\s*<span class="badge warn">paused/);
    await press(app, world.failing, 'resume');
  });

  it('shows directories, pending events and recent changes; 404 for an unknown one', async () => {
    const app = await start();
    const page = await get(app, `/admin/organizations/${world.paused}`);
    expect(page.body).toContain(world.pausedEventIds[0]);
    const healthy = await get(app, `/admin/organizations/${world.healthy}`);
    expect(healthy.body).toMatch(/<code>directory_org_healthy_[^<]+<\/code><\/td><td>Okta/);
    expect((await get(app, '/admin/organizations/org_nobody')).statusCode).toBe(404);
  });
});

describe('the buttons', () => {
  it('pause, resume and replay dead events as the operator, and say so on the page', async () => {
    const app = await start();
    const paused = await press(app, world.healthy, 'pause');
    expect(paused.statusCode).toBe(303);
    expect(paused.headers.location).toBe(`/admin/organizations/${world.healthy}?done=pause`);
    expect((await findOrganization(ctx.db, world.healthy))?.paused_at).toBeInstanceOf(Date);
    expect((await get(app, paused.headers.location as string)).body).toContain(
      'Paused: its events wait until it is resumed.',
    );
    expect((await press(app, world.healthy, 'resume')).headers.location).toMatch(/done=resume$/);
    expect((await findOrganization(ctx.db, world.healthy))?.paused_at).toBeNull();

    const replayed = await press(app, world.failing, 'replay-dead');
    expect(replayed.headers.location).toMatch(/done=replay-dead$/);
    const audit = await ctx.db
      .selectFrom('audit_log')
      .select(['action', 'detail'])
      .where('organization_id', 'in', [world.healthy, world.failing])
      .where('event_id', 'like', 'operator\\_%')
      .orderBy('id')
      .execute();
    expect(audit.map((a) => [a.action, a.detail.actor, a.detail.via])).toEqual(
      expect.arrayContaining([
        ['organization_paused', 'alice', 'admin_api'],
        ['organization_resumed', 'alice', 'admin_api'],
        ['dead_events_replayed', 'alice', 'admin_api'],
      ]),
    );
  });

  it('says a resync needs an API key; refuses other sites, unknown actions and read-only', async () => {
    const app = await start();
    const resync = await press(app, world.healthy, 'resync');
    expect(resync.headers.location).toMatch(/failed=not_configured$/);
    expect((await get(app, resync.headers.location as string)).body).toContain(
      'Resync needs WORKOS_API_KEY.',
    );
    expect((await press(app, world.healthy, 'pause', 'cross-site')).statusCode).toBe(403);
    expect((await press(app, world.healthy, 'delete')).statusCode).toBe(400);
    expect((await press(app, 'org_nobody', 'pause')).statusCode).toBe(404);
    expect((await findOrganization(ctx.db, world.healthy))?.paused_at).toBeNull();

    const readOnly = await start({ ADMIN_READ_ONLY: true });
    expect((await get(readOnly, '/admin')).body).not.toContain('data-action=');
    expect((await press(readOnly, world.healthy, 'pause')).statusCode).toBe(403);
  });
});
