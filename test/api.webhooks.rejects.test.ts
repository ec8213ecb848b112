// Bad deliveries to POST /webhooks/workos: each gets its status and a JSON error,
// and none writes a row or enqueues a trigger.
import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../api/server.ts';
import { DIRECTORY_EVENT_TYPES, type DirectoryEventType } from '../common/events.ts';
import type { Resources } from '../common/resources.ts';
import { useTestContext } from './support/context.ts';
import { eventId, fixture } from './support/events.ts';
import { type PostOptions, postWebhook, signatureHeader, TEST_SECRET } from './support/webhooks.ts';

const ctx = useTestContext('webhooks_rejects');
const LIMIT = 4096;

let resources: Resources;
let app: FastifyInstance;

beforeAll(async () => {
  resources = ctx.openResources({ WEBHOOK_BODY_LIMIT_BYTES: LIMIT });
  app = ctx.track('server', await buildServer(resources));
});
afterAll(async () => {
  await app.close();
  await resources.close();
});
afterEach(async () => {
  // Whatever was rejected left nothing behind: no row, no trigger. Cleared after
  // counting, so that one failure does not fail the cases after it.
  const rows = await ctx.db.deleteFrom('inbox').returning('event_id').execute();
  const jobs = await resources.drainQueue.getJobCounts();
  await resources.drainQueue.obliterate({ force: true });
  expect(rows).toEqual([]);
  expect(Object.values(jobs).reduce((a, b) => a + b, 0)).toBe(0);
});

const event = (changes: (e: Record<string, unknown>) => void = () => {}) => {
  const e: Record<string, unknown> = { ...fixture('dsync.user.created'), id: eventId() };
  changes(e);
  return JSON.stringify(e);
};
const TOLERANCE = 180_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Case {
  name: string;
  body: string;
  options?: PostOptions | (() => Promise<PostOptions>);
  status: number;
  code: string;
}

const cases: Case[] = [
  {
    name: 'a missing signature',
    body: event(),
    options: { headers: { 'workos-signature': undefined } },
    status: 401,
    code: 'invalid_signature',
  },
  {
    name: 'a signature made with another secret',
    body: event(),
    options: { secret: 'whsec_someone_else' },
    status: 401,
    code: 'invalid_signature',
  },
  {
    name: 'a body changed after signing',
    body: event(),
    options: async () => ({
      headers: { 'workos-signature': await signatureHeader(event()) },
    }),
    status: 401,
    code: 'invalid_signature',
  },
  {
    name: 'a timestamp older than the tolerance',
    body: event(),
    // Taken when the request is made: the list is built long before a test runs.
    options: async () => ({ timestamp: Date.now() - TOLERANCE - 5_000 }),
    status: 401,
    code: 'invalid_signature',
  },
  {
    name: 'a timestamp further ahead than the tolerance',
    body: event(),
    // Taken when the request is made: the list is built long before a test runs.
    options: async () => ({ timestamp: Date.now() + TOLERANCE + 5_000 }),
    status: 401,
    code: 'invalid_signature',
  },
  {
    name: 'an unparseable timestamp',
    body: event(),
    options: async () => {
      const body = event();
      const valid = await signatureHeader(body);
      return { headers: { 'workos-signature': valid.replace(/^t=(\d+)/, 't=$1abc') } };
    },
    status: 401,
    code: 'invalid_signature',
  },
  {
    name: 'a header without v1',
    body: event(),
    options: { headers: { 'workos-signature': `t=${Date.now()}` } },
    status: 401,
    code: 'invalid_signature',
  },
  {
    name: 'malformed JSON',
    body: '{"id": "event_x", "event": ',
    status: 400,
    code: 'invalid_json',
  },
  {
    name: 'an envelope without an id',
    body: event((e) => {
      delete e.id;
    }),
    status: 400,
    code: 'invalid_event',
  },
  {
    name: 'a body over the limit',
    body: event((e) => {
      e.padding = 'x'.repeat(LIMIT);
    }),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'a content type other than JSON',
    body: event(),
    options: { headers: { 'content-type': 'text/plain' } },
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'no content type',
    body: event(),
    options: { headers: { 'content-type': undefined } },
    status: 415,
    code: 'unsupported_media_type',
  },
];

describe('POST /webhooks/workos rejects', () => {
  for (const c of cases) {
    it(`${c.name} with ${c.status} ${c.code}`, async () => {
      const res = await postWebhook(app, c.body, await resolveOptions(c.options));
      expect(res.statusCode).toBe(c.status);
      expect(res.json()).toMatchObject({ error: { code: c.code, message: expect.any(String) } });
      // Even answers given before the route runs (413, 415) name their request.
      expect(res.headers['x-request-id']).toMatch(UUID);
    });
  }

  it('a body over the limit even when no content-length announces it', async () => {
    const body = event((e) => {
      e.padding = 'x'.repeat(LIMIT);
    });
    const res = await app.inject({
      method: 'POST',
      url: '/webhooks/workos',
      headers: {
        'content-type': 'application/json',
        'transfer-encoding': 'chunked',
        'workos-signature': await signatureHeader(body),
      },
      payload: body,
    });
    expect(res.statusCode).toBe(413);
  });
});

/** For every directory event type, a `data` that breaks its schema, and where. */
const invalidData: Record<DirectoryEventType, [string, (data: Record<string, unknown>) => void]> = {
  'dsync.activated': ['id', (d) => Object.assign(d, { id: 42 })],
  'dsync.deleted': ['state', (d) => Object.assign(d, { state: '' })],
  'dsync.user.created': ['email', (d) => Object.assign(d, { email: 42 })],
  'dsync.user.updated': ['updated_at', (d) => Object.assign(d, { updated_at: 'yesterday' })],
  'dsync.user.deleted': ['directory_id', (d) => Object.assign(d, { directory_id: undefined })],
  'dsync.group.created': ['organization_id', (d) => Object.assign(d, { organization_id: [] })],
  'dsync.group.updated': ['name', (d) => Object.assign(d, { name: { first: 'x' } })],
  'dsync.group.deleted': ['created_at', (d) => Object.assign(d, { created_at: undefined })],
  'dsync.group.user_added': ['group', (d) => Object.assign(d, { group: undefined })],
  'dsync.group.user_removed': ['user.id', (d) => Object.assign(d.user as object, { id: 7 })],
};

/**
 * Deprovisionings whose identity stays readable are kept and applied instead (fail
 * closed: test/fail-closed.webhook.test.ts).
 */
const FAIL_CLOSED = new Set<DirectoryEventType>(['dsync.deleted', 'dsync.user.deleted']);

describe('POST /webhooks/workos: invalid data of every directory event type', () => {
  const refused = DIRECTORY_EVENT_TYPES.filter((t) => !FAIL_CLOSED.has(t));
  it.each(refused)('%s with 400 invalid_event naming the field', async (type) => {
    const [field, breakIt] = invalidData[type];
    const e = structuredClone(fixture(type));
    e.id = eventId();
    breakIt(e.data);
    const res = await postWebhook(app, JSON.stringify(e));
    expect(res.statusCode).toBe(400);
    const { error } = res.json() as { error: { code: string; message: string } };
    expect(error.code).toBe('invalid_event');
    expect(error.message).toContain(`invalid ${type} data: ${field}`);
  });
});

describe('POST /webhooks/workos: a body that is not UTF-8', () => {
  const body = Buffer.concat([
    Buffer.from(event().slice(0, -1)),
    Buffer.from(',"x":"\xff\xfe"}', 'latin1'),
  ]);
  const post = (secret: string) => {
    const t = Date.now();
    const v1 = createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
    return app.inject({
      method: 'POST',
      url: '/webhooks/workos',
      headers: { 'content-type': 'application/json', 'workos-signature': `t=${t}, v1=${v1}` },
      payload: body,
    });
  };

  it('is answered 400 invalid_json when its signature is authentic', async () => {
    const res = await post(TEST_SECRET);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: { code: 'invalid_json', message: 'the body is not UTF-8 text' },
    });
  });

  it('is answered 401 when it is not', async () => {
    const res = await post('whsec_someone_else');
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: { code: 'invalid_signature' } });
  });
});

function resolveOptions(options: Case['options']): Promise<PostOptions> {
  return typeof options === 'function' ? options() : Promise.resolve(options ?? {});
}
