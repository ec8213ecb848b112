import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildServer } from '../api/server.ts';
import { type Config, withOverrides } from '../common/config.ts';
import { openResources, type Resources } from '../common/resources.ts';
import { useTestContext } from './support/context.ts';
import { track } from './support/leaks.ts';

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
  const app = await buildServer(resources);
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
      'ADMIN_TOKEN is not set: the admin API, status page and queue dashboard are off',
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
    ]);
    const page = await app.inject({ url: '/admin', headers: { authorization } });
    expect(page.body).toContain('(read-only)');
  });
});
