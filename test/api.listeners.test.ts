// The API's two listeners: the public one (webhooks, SCIM, health) that WorkOS and
// identity providers reach, and the internal one (ADMIN_HOST:ADMIN_PORT: /metrics,
// /admin, the queue dashboard); ADMIN_PORT=same serves both on PORT.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../common/config.ts';
import { useTestContext } from './support/context.ts';

const ctx = useTestContext('api_listeners');
const TOKEN = 'listener-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

const status = async (url: string, headers: Record<string, string> = {}) =>
  (await fetch(url, { headers })).status;

describe('the API listeners', () => {
  it('keeps /metrics, /admin and the queue dashboard off the public listener', async () => {
    const service = await ctx.startService(
      { api: true, worker: false },
      { ADMIN_TOKEN: TOKEN, ADMIN_PORT: 0 },
    );
    try {
      const pub = service.address!;
      const internal = service.adminAddress!;
      expect(new URL(internal).hostname).toBe('127.0.0.1');
      expect(new URL(internal).port).not.toBe(new URL(pub).port);

      expect(await status(`${pub}/healthz`)).toBe(200);
      // The webhook endpoint answers (415: not JSON), SCIM too (401: no token).
      expect((await fetch(`${pub}/webhooks/workos`, { method: 'POST', body: '{}' })).status).toBe(
        415,
      );
      expect(await status(`${pub}/scim/v2/nope/Users`)).toBe(401);
      for (const path of ['/metrics', '/admin', '/admin/api/organizations', '/admin/queues']) {
        expect(await status(`${pub}${path}`, auth), `public ${path}`).toBe(404);
      }

      expect(await status(`${internal}/metrics`)).toBe(200);
      expect(await status(`${internal}/admin`)).toBe(401);
      expect(await status(`${internal}/admin`, auth)).toBe(200);
      expect(await status(`${internal}/admin/queues`, auth)).toBe(200);
      expect(await status(`${internal}/healthz`)).toBe(200);
      expect((await fetch(`${internal}/webhooks/workos`, { method: 'POST' })).status).toBe(404);
    } finally {
      await service.stop();
    }
  });

  it('serves everything on PORT with ADMIN_PORT=same', async () => {
    const service = await ctx.startService(
      { api: true, worker: false },
      { ADMIN_TOKEN: TOKEN, ADMIN_PORT: 'same' },
    );
    try {
      expect(service.adminAddress).toBeUndefined();
      const base = service.address!;
      expect(await status(`${base}/metrics`)).toBe(200);
      expect(await status(`${base}/admin`, auth)).toBe(200);
      expect(await status(`${base}/scim/v2/nope/Users`)).toBe(401);
    } finally {
      await service.stop();
    }
  });

  it('names ADMIN_PORT and the way out when its port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      await expect(
        ctx.startService({ api: true, worker: false }, { ADMIN_PORT: port }),
      ).rejects.toThrow(
        new RegExp(
          `^port ${port} \\(ADMIN_PORT\\) is in use .*own PORT and ADMIN_PORT, or ADMIN_PORT=same`,
        ),
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe('ADMIN_PORT', () => {
  it('defaults to PORT + 1 (any free port with PORT=0), takes `same`, refuses PORT itself', () => {
    expect(loadConfig({}).ADMIN_PORT).toBe(8081);
    expect(loadConfig({ PORT: '9000' }).ADMIN_PORT).toBe(9001);
    expect(loadConfig({ PORT: '0' }).ADMIN_PORT).toBe(0);
    expect(loadConfig({}).ADMIN_HOST).toBe('127.0.0.1');
    expect(loadConfig({ ADMIN_PORT: 'same' }).ADMIN_PORT).toBe('same');
    expect(loadConfig({ ADMIN_PORT: '9464' }).ADMIN_PORT).toBe(9464);
    expect(() => loadConfig({ ADMIN_PORT: 'admin' })).toThrow(
      /^invalid configuration: ADMIN_PORT: expected a port .* or `same`$/,
    );
    expect(() => loadConfig({ PORT: '8080', ADMIN_PORT: '8080' })).toThrow(
      /ADMIN_PORT: expected another port than PORT/,
    );
  });
});
