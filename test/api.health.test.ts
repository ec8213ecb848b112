import { describe, expect, it } from 'vitest';
import { buildServer } from '../api/server.ts';
import { useTestContext } from './support/context.ts';

const ctx = useTestContext('health');

describe('api health', () => {
  it('answers /healthz and /readyz when Postgres and Redis answer', async () => {
    const resources = ctx.openResources();
    const app = ctx.track('server', await buildServer(resources));
    try {
      expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
      const ready = await app.inject('/readyz');
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({
        status: 'ready',
        checks: { postgres: { ok: true }, redis: { ok: true } },
      });
    } finally {
      await app.close();
      await resources.close();
    }
  });

  it('answers /readyz 503 naming Postgres when it is unreachable', async () => {
    const resources = ctx.openResources({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/dirsync',
    });
    const app = ctx.track('server', await buildServer(resources));
    try {
      const res = await app.inject('/readyz');
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({
        status: 'unavailable',
        checks: {
          postgres: { ok: false, error: expect.stringMatching(/^postgres unreachable/) },
          redis: { ok: true },
        },
      });
    } finally {
      await app.close();
      await resources.close();
    }
  });

  it('answers /readyz 503 naming Redis when it is unreachable', async () => {
    const resources = ctx.openResources({ REDIS_URL: 'redis://127.0.0.1:1' });
    const app = ctx.track('server', await buildServer(resources));
    try {
      const res = await app.inject('/readyz');
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({
        status: 'unavailable',
        checks: {
          postgres: { ok: true },
          redis: { ok: false, error: expect.stringMatching(/^redis unreachable/) },
        },
      });
    } finally {
      await app.close();
      await resources.close();
    }
  });

  it('answers unknown routes with a JSON 404', async () => {
    const resources = ctx.openResources();
    const app = ctx.track('server', await buildServer(resources));
    try {
      const res = await app.inject('/nope');
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({
        error: { code: 'not_found', message: 'no route for GET /nope' },
      });
    } finally {
      await app.close();
      await resources.close();
    }
  });
});
