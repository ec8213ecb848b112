// POST /webhooks/workos against real Postgres and Redis: each recorded event type is
// stored once as it came over the wire and its organization triggered; redeliveries
// are answered 200 and stored once; bad input gets its status and writes nothing.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerErrorHandling } from '../api/errors.ts';
import { registerWebhookRoutes } from '../api/routes/webhooks.ts';
import { buildServer } from '../api/server.ts';
import type { Config } from '../common/config.ts';
import { DIRECTORY_EVENT_TYPES } from '../common/events.ts';
import { createLogger } from '../common/logger.ts';
import { openResources, type Resources } from '../common/resources.ts';
import { useTestContext } from './support/context.ts';
import { eventId, FIXTURE_ORG, fixture, type WireEvent } from './support/events.ts';
import { postWebhook, signatureHeader, TEST_SECRET } from './support/webhooks.ts';

const ctx = useTestContext('webhooks');

let resources: Resources;
let app: FastifyInstance;

beforeAll(async () => {
  resources = ctx.openResources();
  app = ctx.track('server', await buildServer(resources));
});
afterAll(async () => {
  await app.close();
  await resources.close();
});

/** A server of its own with some settings changed; closed by the caller. */
async function serverWith(overrides: Partial<Config>) {
  const own = ctx.openResources(overrides);
  const server = ctx.track('server', await buildServer(own));
  return {
    app: server,
    resources: own,
    async close() {
      await server.close();
      await own.close();
    },
  };
}

const FIXTURE_TYPES = [...DIRECTORY_EVENT_TYPES, 'dsync.token.created', 'dsync.token.revoked'];

const rawFixture = (type: string) =>
  readFileSync(new URL(`./fixtures/workos/${type}.json`, import.meta.url), 'utf8');

/** A fixture event under a fresh id (and organization), as the wire JSON text. */
function freshEvent(type: Parameters<typeof fixture>[0] = 'dsync.user.created', org?: string) {
  const event: WireEvent = { ...fixture(type), id: eventId('event_webhook') };
  if (org) {
    const data = event.data as Record<string, unknown>;
    data.organization_id = org;
  }
  return { id: event.id, body: JSON.stringify(event) };
}

const rowsOf = (id: string) =>
  ctx.db.selectFrom('inbox').selectAll().where('event_id', '=', id).execute();

async function triggeredOrganizations(queue = resources.drainQueue): Promise<string[]> {
  const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active']);
  return jobs.map((job) => job.data.organizationId);
}

describe('POST /webhooks/workos', () => {
  it('stores every recorded event type once, byte for byte, and triggers its organization', async () => {
    for (const type of FIXTURE_TYPES) {
      const body = rawFixture(type);
      const res = await postWebhook(app, body);
      expect(res.statusCode, type).toBe(200);
      expect(res.json(), type).toEqual({ received: true, duplicate: false });

      const { id } = JSON.parse(body) as WireEvent;
      const rows = await ctx.db
        .selectFrom('inbox')
        .select((eb) => [
          'event_type',
          'organization_id',
          'source',
          'status',
          eb.cast<string>('payload', 'text').as('text'),
        ])
        .where('event_id', '=', id)
        .execute();
      const directory = !type.startsWith('dsync.token');
      expect(rows, type).toEqual([
        {
          event_type: type,
          organization_id: FIXTURE_ORG,
          source: 'webhook',
          status: directory ? 'pending' : 'ignored',
          // The wire text as it came (whitespace and key order), not a re-serialisation.
          text: body,
        },
      ]);
    }
    expect(await triggeredOrganizations()).toEqual([FIXTURE_ORG]);
  });

  it('answers a redelivery 200 with duplicate: true and stores it once', async () => {
    const { id, body } = freshEvent('dsync.group.created');
    expect((await postWebhook(app, body)).json()).toEqual({ received: true, duplicate: false });
    const again = await postWebhook(app, body);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ received: true, duplicate: true });
    expect(await rowsOf(id)).toHaveLength(1);
  });

  it('stores concurrent deliveries of one event once, and tells exactly one it was new', async () => {
    const { id, body } = freshEvent('dsync.user.updated');
    const answers = await Promise.all(Array.from({ length: 8 }, () => postWebhook(app, body)));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(8).fill(200));
    expect(answers.filter((a) => a.json().duplicate === false)).toHaveLength(1);
    expect(await rowsOf(id)).toHaveLength(1);
  });

  it('stores concurrent deliveries of many events, each committed before its answer', async () => {
    const events = Array.from({ length: 60 }, (_, i) =>
      freshEvent('dsync.user.created', `org_webhook_many_${i % 7}`),
    );
    const answers = await Promise.all(events.map((e) => postWebhook(app, e.body)));
    for (const [i, answer] of answers.entries()) {
      expect(answer.json()).toEqual({ received: true, duplicate: false });
      expect(await rowsOf(events[i]!.id)).toHaveLength(1);
    }
    const triggered = await triggeredOrganizations();
    for (let i = 0; i < 7; i++) expect(triggered).toContain(`org_webhook_many_${i}`);
  });

  it('answers event types it does not handle 200 and records them as ignored, untriggered', async () => {
    const id = eventId('event_other');
    const body = JSON.stringify({
      object: 'event',
      id,
      event: 'user.created',
      data: { id: 'user_01', email: 'someone@example.com' },
      created_at: new Date().toISOString(),
    });
    const res = await postWebhook(app, body);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ received: true, duplicate: false });
    expect(await rowsOf(id)).toMatchObject([
      { status: 'ignored', organization_id: null, event_type: 'user.created' },
    ]);
  });

  it('accepts a signature made with any secret of a rotation', async () => {
    const rotating = await serverWith({ WORKOS_WEBHOOK_SECRET: ['whsec_old', 'whsec_new'] });
    try {
      for (const secret of ['whsec_old', 'whsec_new']) {
        const { id, body } = freshEvent();
        const res = await postWebhook(rotating.app, body, { secret });
        expect(res.statusCode, secret).toBe(200);
        expect(await rowsOf(id)).toHaveLength(1);
      }
      const { id, body } = freshEvent();
      const res = await postWebhook(rotating.app, body, { secret: 'whsec_retired' });
      expect(res.statusCode).toBe(401);
      expect(await rowsOf(id)).toHaveLength(0);
    } finally {
      await rotating.close();
    }
  });

  it('answers 200 once the event is stored even when the trigger cannot be enqueued', async () => {
    const noRedis = await serverWith({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const { id, body } = freshEvent('dsync.user.deleted');
      const res = await postWebhook(noRedis.app, body);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ received: true, duplicate: false });
      expect(await rowsOf(id)).toMatchObject([{ status: 'pending' }]);
    } finally {
      await noRedis.close();
    }
  });

  it('answers every delivery with its row stored when Redis accepts connections but never answers', async () => {
    const sockets = new Set<Socket>();
    const hung = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    hung.listen(0, '127.0.0.1');
    await once(hung, 'listening');
    const { port } = hung.address() as AddressInfo;
    const stuck = await serverWith({ REDIS_URL: `redis://127.0.0.1:${port}` });
    try {
      // Warm (the pool connects, the first trigger starts hanging), then more.
      expect((await postWebhook(stuck.app, freshEvent().body)).statusCode).toBe(200);
      // Waves of deliveries while the first triggers still hang: each one is answered
      // once its own trigger wait is over. How long that wait is, counted from the
      // call whether queued or sent, is the batcher's timeout, tested on a clock the
      // test moves (api.webhooks.batcher.test.ts) rather than by the wall clock here.
      const answers = await Promise.all(
        Array.from({ length: 10 }, async (_, wave) =>
          Promise.all(
            Array.from({ length: 4 }, async () => {
              const { id, body } = freshEvent('dsync.user.updated', `org_hung_${wave}`);
              const res = await postWebhook(stuck.app, body);
              return { id, status: res.statusCode };
            }),
          ),
        ),
      );
      const all = answers.flat();
      expect(all.map((a) => a.status)).toEqual(Array(all.length).fill(200));
      for (const a of all) expect(await rowsOf(a.id)).toHaveLength(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      hung.close();
      await stuck.close();
    }
  });

  it('stores what Postgres cannot hold (NUL, lone surrogates, huge numbers) replaced, listing where', async () => {
    for (const [where, change, path] of [
      ['the event id', (e: WireEvent) => Object.assign(e, { id: `${e.id}\u0000` }), 'id'],
      [
        'a name',
        (e: WireEvent) => Object.assign(e.data, { first_name: 'Mar\u0000celina' }),
        'data.first_name',
      ],
      [
        'an unknown field',
        (e: WireEvent) => Object.assign(e, { extra: { k: ['\ud800'] } }),
        'extra.k.0',
      ],
    ] as const) {
      const event: WireEvent = { ...fixture('dsync.user.created'), id: eventId('event_nul') };
      change(event);
      const res = await postWebhook(app, JSON.stringify(event));
      expect(res.statusCode, where).toBe(200);
      const stored = await ctx.db
        .selectFrom('inbox')
        .select(['event_id', 'status', 'alterations'])
        .where('event_id', '=', (event.id as string).replaceAll('\u0000', '\uFFFD'))
        .executeTakeFirstOrThrow();
      expect(stored.status, where).toBe('pending');
      expect(stored.alterations, where).toEqual([
        { path, change: 'replaced_unstorable_characters' },
      ]);
    }
    // A number beyond a double (Infinity once decoded) is stored as null.
    const event: WireEvent = { ...fixture('dsync.user.created'), id: eventId('event_num') };
    const body = `${JSON.stringify(event).slice(0, -1)},"n":1e400000,"m":1e-400000}`;
    expect((await postWebhook(app, body)).statusCode).toBe(200);
    const row = await ctx.db
      .selectFrom('inbox')
      .select(['payload', 'alterations'])
      .where('event_id', '=', event.id)
      .executeTakeFirstOrThrow();
    expect(row.payload).toMatchObject({ n: null, m: 0 });
    expect(row.alterations).toEqual([{ path: 'n', change: 'replaced_unstorable_number' }]);
    // An escaped backslash before "u0000" is six characters of text, not a NUL.
    const text: WireEvent = { ...fixture('dsync.user.created'), id: eventId('event_nul') };
    Object.assign(text.data, { title: 'C:\\u0000' });
    expect((await postWebhook(app, JSON.stringify(text))).statusCode).toBe(200);
    expect(
      (
        await ctx.db
          .selectFrom('inbox')
          .select('alterations')
          .where('event_id', '=', text.id)
          .executeTakeFirstOrThrow()
      ).alterations,
    ).toBeNull();
  });

  it('answers only the delivery Postgres cannot store 400, its neighbours 200', async () => {
    // Postgres refusing one row's data (a trigger raising a data exception, class 22),
    // as it would for a value nothing before it checks.
    // Schema-qualified: connections have no search_path (DATABASE_URL may be a pooler).
    const fn = sql.id(ctx.config.DATABASE_SCHEMA, 'refuse_poison');
    await sql`
      create function ${fn}() returns trigger language plpgsql as $$
      begin
        if new.event_id like 'event_poison%' then
          raise exception 'poisoned row' using errcode = '22023';
        end if;
        return new;
      end $$;
      create trigger refuse_poison before insert on ${sql.table('inbox')}
        for each row execute function ${fn}();
    `.execute(ctx.db);
    try {
      const poisoned: WireEvent = { ...fixture('dsync.user.created'), id: eventId('event_poison') };
      const bad = { id: poisoned.id, body: JSON.stringify(poisoned) };
      const good = Array.from({ length: 6 }, () => freshEvent());
      const answers = await Promise.all([bad, ...good].map((e) => postWebhook(app, e.body)));
      expect(answers[0]!.statusCode).toBe(400);
      expect(answers[0]!.json()).toMatchObject({
        error: { code: 'invalid_event', message: expect.stringMatching(/^Postgres refused/) },
      });
      expect(answers.slice(1).map((a) => a.statusCode)).toEqual(Array(6).fill(200));
      expect(await rowsOf(bad.id)).toHaveLength(0);
      for (const e of good) expect(await rowsOf(e.id)).toHaveLength(1);
    } finally {
      await sql`drop trigger refuse_poison on ${sql.table('inbox')}; drop function ${fn}()`.execute(
        ctx.db,
      );
    }
  });

  it('answers 503 when Postgres is unreachable, never 200 for what it did not store', async () => {
    const noPostgres = await serverWith({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' });
    try {
      const { body } = freshEvent();
      const res = await postWebhook(noPostgres.app, body);
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: { code: 'unavailable' } });
    } finally {
      await noPostgres.close();
    }
  });

  it('answers 503 with a clear message when no secret is configured', async () => {
    const unset = await serverWith({ WORKOS_WEBHOOK_SECRET: undefined });
    try {
      const { id, body } = freshEvent();
      const res = await postWebhook(unset.app, body);
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({
        error: {
          code: 'unavailable',
          message: 'webhooks are off: WORKOS_WEBHOOK_SECRET is not set',
        },
      });
      expect(await rowsOf(id)).toHaveLength(0);
    } finally {
      await unset.close();
    }
  });

  it('logs each delivery with its request id and event, never the body, signature or secret', async () => {
    const lines: string[] = [];
    const logger = createLogger({ LOG_LEVEL: 'info' }, 'test:webhooks', {
      write: (line: string) => {
        lines.push(line);
      },
    });
    const own = openResources(ctx.config, logger);
    const server = ctx.track('server', await buildServer(own));
    try {
      const { id, body } = freshEvent('dsync.user.created');
      const signature = await signatureHeader(body);
      const res = await server.inject({
        method: 'POST',
        url: '/webhooks/workos',
        headers: { 'content-type': 'application/json', 'workos-signature': signature },
        payload: body,
      });
      expect(res.statusCode).toBe(200);
      await postWebhook(server, body, { secret: 'whsec_wrong' });
      const log = lines.join('');
      const deliveries = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'webhook');
      expect(deliveries).toEqual([
        expect.objectContaining({
          reqId: res.headers['x-request-id'],
          status: 200,
          eventId: id,
          eventType: 'dsync.user.created',
          orgId: FIXTURE_ORG,
          outcome: 'accepted',
        }),
        expect.objectContaining({
          status: 401,
          reason: 'mismatch',
          error: 'invalid_signature',
          outcome: 'rejected_401',
        }),
      ]);
      for (const secretOrPersonal of [
        TEST_SECRET,
        signature.split('v1=')[1]!,
        'marcelina.davis@acme-corp.com',
        'Marcelina',
      ]) {
        expect(log).not.toContain(secretOrPersonal);
      }
    } finally {
      await server.close();
      await own.close();
    }
  });

  it("answers with a request id: a random UUID, or the client's own when it is plain", async () => {
    const ids = async (given?: string) => {
      const { body } = freshEvent();
      const headers = given === undefined ? {} : { 'x-request-id': given };
      const res = await postWebhook(app, body, { headers });
      expect(res.statusCode).toBe(200);
      return res.headers['x-request-id'];
    };
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const [a, b] = [await ids(), await ids()];
    expect(a).toMatch(uuid);
    expect(b).toMatch(uuid);
    expect(a).not.toBe(b);
    expect(await ids('trace-01:abc.DEF_9')).toBe('trace-01:abc.DEF_9');
    for (const unsafe of ['x'.repeat(129), 'has space', 'a"b', '{"json":1}', 'é']) {
      expect(await ids(unsafe), unsafe).toMatch(uuid);
    }
    const notFound = await app.inject({ method: 'GET', url: '/nowhere' });
    expect(notFound.statusCode).toBe(404);
    expect(notFound.headers['x-request-id']).toMatch(uuid);
  });

  it('keeps raw-body parsing to itself: other routes still parse JSON', async () => {
    const own = ctx.openResources();
    const server = Fastify();
    try {
      registerErrorHandling(server);
      await registerWebhookRoutes(server, own);
      server.post('/echo', async (request) => request.body);
      const res = await server.inject({ method: 'POST', url: '/echo', payload: { a: 1 } });
      expect(res.json()).toEqual({ a: 1 });
    } finally {
      await server.close();
      await own.close();
    }
  });
});
