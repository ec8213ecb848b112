// End to end: a user deprovisioned by a signed webhook, while the example application
// (examples/session-app) holds their session as valid in its cache. Whether the app
// is connected, cut off from Redis during the revocation, or restarted, its cached
// session is refused afterwards; and a revocation committed while Redis is stopped
// reaches the app once Redis returns. dirsync and the app share a private
// redis-server (the shared one must not be stopped), the app through a proxy the
// test can cut.
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DirsyncDatabase } from '../client/index.ts';
import { createLogger } from '../common/logger.ts';
import { revocationBacklog } from '../db/repositories/revocation-outbox.repository.ts';
import { createExampleApp, type ExampleApp } from '../examples/session-app/app.ts';
import type { SessionCache } from '../examples/session-app/session-cache.ts';
import type { Service } from '../service.ts';
import { drainOrganization } from '../worker/drain/drain-organization.ts';
import { useTestContext } from './support/context.ts';
import { initialSync, userDeleted } from './support/directory.ts';
import { type PrivateRedis, startPrivateRedis } from './support/private-redis.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';
import { postWebhook } from './support/webhooks.ts';

const ctx = useTestContext('revocation_e2e');
const ORG = 'org_e2e';
const WAIT = { timeout: 20_000, interval: 50 };
let redis: PrivateRedis;
let proxy: TcpProxy;
let service: Service;

beforeAll(async () => {
  redis = await startPrivateRedis();
  proxy = await startTcpProxy(redis.port);
  service = await ctx.startService({ api: true, worker: true }, { REDIS_URL: redis.url });
  for (const event of initialSync({ org: ORG, users: 4 })) {
    const response = await postWebhook(service.server!, JSON.stringify(event));
    expect(response.statusCode).toBe(200);
  }
  // Provisioned through the worker (expect.poll is for tests only, not hooks).
  const deadline = Date.now() + WAIT.timeout;
  while ((await ctx.db.selectFrom('users').select('id').execute()).length < 4) {
    if (Date.now() > deadline) throw new Error('the users were never provisioned');
    await new Promise((r) => setTimeout(r, WAIT.interval));
  }
});
afterAll(async () => {
  await service?.stop();
  await proxy?.close();
  await redis?.close();
});

function startApp(options: { cache?: SessionCache; from?: { after: string } } = {}) {
  return createExampleApp({
    // The same tables under the contract's types (an application has its own handle).
    db: ctx.db as unknown as Kysely<DirsyncDatabase>,
    schema: ctx.config.DATABASE_SCHEMA,
    redis: `redis://127.0.0.1:${proxy.port}`,
    prefix: ctx.config.REDIS_PREFIX,
    ...options,
  }).then((app) => ctx.track('example app', app));
}

async function userId(i: number) {
  const row = await ctx.db
    .selectFrom('users')
    .select('id')
    .where('directory_user_id', '=', `directory_user_${ORG}_${i}`)
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Logs user i in and checks the session works (and is now cached as valid). */
async function login(app: ExampleApp, i: number): Promise<string> {
  const response = await app.server.inject({
    method: 'POST',
    url: '/login',
    payload: { userId: await userId(i) },
  });
  expect(response.statusCode).toBe(201);
  const { sessionId } = response.json() as { sessionId: string };
  expect(await me(app, sessionId)).toBe(200);
  expect(app.cache.get(sessionId)).toBe(true);
  return sessionId;
}

async function me(app: ExampleApp, sessionId: string) {
  const response = await app.server.inject({
    method: 'GET',
    url: '/me',
    headers: { authorization: `Bearer ${sessionId}` },
  });
  return response.statusCode;
}

let at = Date.UTC(2026, 10, 20);
async function deprovision(i: number) {
  at += 1000;
  const response = await postWebhook(service.server!, JSON.stringify(userDeleted(ORG, i, at)));
  expect(response.statusCode).toBe(200);
}

/** The revocation was committed and its message is in the stream. */
async function relayed(sessionId: string) {
  await expect
    .poll(async () => {
      const entries = await service.resources.redis.xrange(
        `${ctx.config.REDIS_PREFIX}:sessions:revoked`,
        '-',
        '+',
      );
      return entries.some(([, fields]) => fields.join(' ').includes(sessionId));
    }, WAIT)
    .toBe(true);
}

describe('revocations reach the example application', () => {
  it('(a) connected: the cached session is refused after the webhook', async () => {
    const app = await startApp();
    try {
      const session = await login(app, 0);
      await deprovision(0);
      // Cached as valid for a minute: only the message can refuse it this soon.
      await expect.poll(() => me(app, session), WAIT).toBe(401);
      expect(app.cache.get(session)).toBe(false);
    } finally {
      await app.close();
    }
  });

  it('(b) cut off from Redis during the revocation: refused once it reconnects', async () => {
    const app = await startApp();
    try {
      const session = await login(app, 1);
      proxy.cut();
      await deprovision(1);
      await relayed(session);
      expect(await me(app, session)).toBe(200); // still cached: the app heard nothing
      proxy.restore();
      await expect.poll(() => me(app, session), WAIT).toBe(401);
    } finally {
      proxy.restore();
      await app.close();
    }
  });

  it('(c) restarted: the new instance catches up from the saved stream id', async () => {
    const first = await startApp();
    let session: string;
    let cache: SessionCache;
    let lastId: string;
    try {
      session = await login(first, 2);
      cache = first.cache;
    } finally {
      lastId = first.listener.lastId;
      await first.close();
    }
    await deprovision(2);
    await relayed(session);
    // A cache that outlived the process still says valid; the catch-up corrects it.
    expect(cache.get(session)).toBe(true);
    const second = await startApp({ cache, from: { after: lastId } });
    try {
      await expect.poll(() => me(second, session), WAIT).toBe(401);
    } finally {
      await second.close();
    }
  });

  it('Redis stopped during the revocation: delivered once Redis returns', async () => {
    const app = await startApp();
    const log = createLogger({ LOG_LEVEL: 'silent' });
    try {
      const session = await login(app, 3);
      await redis.stop();
      // Stored and answered 200 without Redis; the drain that was running applies it.
      await deprovision(3);
      await drainOrganization(service.resources, ORG, {
        log,
        revocationsCommitted: service.worker!.relay.nudge,
      });
      const revoked = await ctx.db
        .selectFrom('sessions')
        .select('revoked_at')
        .where('id', '=', session)
        .executeTakeFirstOrThrow();
      expect(revoked.revoked_at).not.toBeNull();
      expect((await revocationBacklog(ctx.db)).unsent).toBe(1);
      expect(await me(app, session)).toBe(200); // the app has not heard yet
      await redis.start();
      await expect.poll(() => me(app, session), WAIT).toBe(401);
      await expect.poll(async () => (await revocationBacklog(ctx.db)).unsent, WAIT).toBe(0);
    } finally {
      await redis.start();
      await app.close();
    }
  });
});
