import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildServer } from '../api/server.ts';
import { type Config, withOverrides } from '../common/config.ts';
import { openResources, type Resources } from '../common/resources.ts';
import { useTestContext } from './support/context.ts';
import { track } from './support/leaks.ts';
import { seedOperatorWorld } from './support/operator-fixtures.ts';
import { findOrganization } from './support/organizations.ts';

const ctx = useTestContext('admin_auth');
const TOKEN = 'admin-token-0123456789abcdef';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

let open: { app: FastifyInstance; resources: Resources } | undefined;
afterEach(async () => {
  await open?.app.close();
  await open?.resources.close();
  open = undefined;
});

async function start(overrides: Partial<Config>, logLines?: string[]) {
  const config = withOverrides(ctx.config, overrides);
  const logger = logLines
    ? pino(
        { level: 'info' },
        new Writable({
          write(chunk, _encoding, done) {
            logLines.push(String(chunk));
            done();
          },
        }),
      )
    : ctx.logger;
  const resources = track('resources', openResources(config, logger));
  const app = track('server', await buildServer(resources));
  open = { app, resources };
  return app;
}

const protectedUrls = [
  '/admin',
  '/admin/',
  '/admin/api/organizations',
  '/admin/api/dead-events',
  '/admin/queues',
  '/admin/queues/',
  '/admin/queues/api/queues',
];

describe('admin authentication', () => {
  it.each(protectedUrls)('refuses %s without a credential, with a basic challenge', async (url) => {
    const app = await start({ ADMIN_TOKEN: TOKEN });
    const res = await app.inject(url);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm="dirsync"/);
    expect(res.json()).toMatchObject({ error: { code: 'unauthorized' } });
  });

  it('refuses wrong, malformed and empty credentials', async () => {
    const app = await start({ ADMIN_TOKEN: TOKEN });
    const headers = [
      'Bearer wrong-token-0123456789abcdef',
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      basic('operator', 'nope'),
      basic(TOKEN, ''),
      `Basic ${Buffer.from(TOKEN).toString('base64')}`,
      'Basic !!!',
      'Bearer',
      TOKEN,
      `Token ${TOKEN}`,
    ];
    for (const authorization of headers) {
      const res = await app.inject({ url: '/admin/api/organizations', headers: { authorization } });
      expect(res.statusCode, authorization).toBe(401);
    }
    const post = await app.inject({
      method: 'POST',
      url: '/admin/api/organizations/org_x/pause',
      headers: { authorization: basic('operator', 'nope') },
    });
    expect(post.statusCode).toBe(401);
  });

  it('accepts the token as a bearer token or as any user’s basic password', async () => {
    const app = await start({ ADMIN_TOKEN: TOKEN });
    for (const authorization of [
      `Bearer ${TOKEN}`,
      `bearer ${TOKEN}`,
      basic('operator', TOKEN),
      basic('', TOKEN),
    ]) {
      const api = await app.inject({ url: '/admin/api/organizations', headers: { authorization } });
      expect(api.statusCode, authorization).toBe(200);
      const page = await app.inject({ url: '/admin', headers: { authorization } });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      const board = await app.inject({
        url: '/admin/queues/api/queues',
        headers: { authorization },
      });
      expect(board.statusCode).toBe(200);
    }
  });

  it('registers nothing under /admin without ADMIN_TOKEN, and says so at start-up', async () => {
    const lines: string[] = [];
    const app = await start({ ADMIN_TOKEN: undefined }, lines);
    for (const url of protectedUrls) {
      const res = await app.inject({ url, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.statusCode, url).toBe(404);
    }
    const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40);
    expect(warnings.map((w) => w.msg)).toEqual([
      'neither ADMIN_TOKENS nor ADMIN_TOKEN is set: the admin API, status page and queue dashboard are off',
    ]);
    expect((await app.inject('/metrics')).statusCode).toBe(200);
  });

  it('refuses every change with 403 read_only in read-only mode, and still reads', async () => {
    const app = await start({ ADMIN_TOKEN: TOKEN, ADMIN_READ_ONLY: true });
    const authorization = `Bearer ${TOKEN}`;
    for (const [method, url] of [
      ['POST', '/admin/api/organizations/org_x/pause'],
      ['POST', '/admin/api/organizations/org_x/resume'],
      ['POST', '/admin/api/organizations/org_x/resync'],
      ['POST', '/admin/api/organizations/org_x/replay-dead'],
      ['POST', '/admin/api/events/event_x/replay'],
      ['PUT', '/admin/queues/api/queues/drain/pause'],
      ['PUT', '/admin/queues/api/queues/maintenance/empty'],
      ['POST', '/admin/queues/api/queues/drain/add'],
    ] as const) {
      const res = await app.inject({ method, url, headers: { authorization } });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json()).toMatchObject({ error: { code: 'read_only' } });
    }
    const queues = await app.inject({
      url: '/admin/queues/api/queues',
      headers: { authorization },
    });
    expect(queues.statusCode).toBe(200);
    const body = queues.json() as { queues: Array<{ name: string; readOnlyMode: boolean }> };
    expect(body.queues.map((q) => [q.name, q.readOnlyMode]).sort()).toEqual([
      ['drain', true],
      ['maintenance', true],
      ['reconcile', true],
    ]);
    const page = await app.inject({ url: '/admin', headers: { authorization } });
    expect(page.body).toContain('(read-only)');
  });
});

describe('admin changes from a browser (cross-site request forgery)', () => {
  const browser = basic('operator', TOKEN);
  // inject() sends `Host: localhost:80`.
  const pause = (app: FastifyInstance, org: string, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: `/admin/api/organizations/${org}/pause`, headers });
  const pausedAt = async (org: string) => (await findOrganization(ctx.db, org))?.paused_at;

  it('refuses a change with basic auth from another site, and changes nothing', async () => {
    const { healthy } = await seedOperatorWorld(ctx.db, 'csrf');
    const app = await start({ ADMIN_TOKEN: TOKEN });
    const crossSite: Array<Record<string, string>> = [
      { origin: 'https://evil.example' },
      { origin: 'http://localhost:8081' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      { 'sec-fetch-site': 'same-site', origin: 'http://admin.localhost' },
      // Fetch metadata wins over an Origin that happens to match.
      { 'sec-fetch-site': 'cross-site', origin: 'http://localhost' },
      // No word from the browser at all: refused too (scripts use the bearer token).
      {},
    ];
    for (const headers of crossSite) {
      const res = await pause(app, healthy, { authorization: browser, ...headers });
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.json()).toMatchObject({ error: { code: 'cross_site' } });
    }
    // What a cross-site <form enctype="text/plain"> sends: parsed, still refused.
    const form = await app.inject({
      method: 'POST',
      url: `/admin/api/organizations/${healthy}/resume`,
      headers: {
        authorization: browser,
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
        'content-type': 'text/plain',
      },
      payload: 'x=y',
    });
    expect(form.statusCode).toBe(403);
    const queue = await app.inject({
      method: 'PUT',
      url: '/admin/queues/api/queues/drain/pause',
      headers: { authorization: browser, origin: 'https://evil.example' },
    });
    expect(queue.statusCode).toBe(403);
    expect(await pausedAt(healthy)).toBeNull();
  });

  it('accepts a change with basic auth from a page of this origin', async () => {
    const w = await seedOperatorWorld(ctx.db, 'sameorigin');
    const app = await start({ ADMIN_TOKEN: TOKEN });
    const byOrigin = await pause(app, w.healthy, {
      authorization: browser,
      origin: 'http://localhost',
    });
    expect(byOrigin.statusCode).toBe(200);
    expect(await pausedAt(w.healthy)).toBeInstanceOf(Date);
    const byFetchMetadata = await pause(app, w.failing, {
      authorization: browser,
      'sec-fetch-site': 'same-origin',
      origin: 'http://localhost:80',
    });
    expect(byFetchMetadata.statusCode).toBe(200);
    expect(await pausedAt(w.failing)).toBeInstanceOf(Date);
    // Bull Board's own actions, from its page.
    const queue = await app.inject({
      method: 'PUT',
      url: '/admin/queues/api/queues/maintenance/pause',
      headers: { authorization: browser, 'sec-fetch-site': 'same-origin' },
    });
    expect(queue.statusCode).toBe(200);
    // Reads need no origin: a link followed from anywhere shows the page.
    const read = await app.inject({
      url: '/admin/api/organizations',
      headers: { authorization: browser, 'sec-fetch-site': 'cross-site' },
    });
    expect(read.statusCode).toBe(200);
  });

  it('asks nothing of bearer-token requests (scripts)', async () => {
    const { healthy } = await seedOperatorWorld(ctx.db, 'bearer');
    const app = await start({ ADMIN_TOKEN: TOKEN });
    const res = await pause(app, healthy, { authorization: `Bearer ${TOKEN}` });
    expect(res.statusCode).toBe(200);
    expect(await pausedAt(healthy)).toBeInstanceOf(Date);
  });

  it('forbids framing every admin page, refusals included', async () => {
    const app = await start({ ADMIN_TOKEN: TOKEN });
    const authorization = `Bearer ${TOKEN}`;
    for (const [url, headers] of [
      ['/admin', { authorization }],
      ['/admin/api/organizations', { authorization }],
      ['/admin/queues', { authorization }],
      ['/admin/queues/api/queues', { authorization }],
      ['/admin', {}],
    ] as const) {
      const res = await app.inject({ url, headers });
      expect(res.headers['content-security-policy'], url).toBe("frame-ancestors 'none'");
      expect(res.headers['x-frame-options'], url).toBe('DENY');
    }
    expect((await app.inject('/metrics')).headers['x-frame-options']).toBeUndefined();
  });
});
