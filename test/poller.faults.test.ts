// The poller against a misbehaving WorkOS: it waits out 429s for Retry-After, backs
// off through 5xx, dropped connections and slow answers, gives up at once on an
// error that repeating cannot fix, and stores an invalid event as dead without
// stopping.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findPollCursor } from '../db/repositories/poll-cursors.repository.ts';
import { EVENTS_CURSOR, pollEvents } from '../worker/poller/poll-events.ts';
import { createWorkOSClient } from '../worker/workos/client.ts';
import { parseRetryAfter, WorkOSRequestError } from '../worker/workos/retry.ts';
import { seedWorld } from './fake-workos/seed.ts';
import { type FakeWorkOS, startFakeWorkOS } from './fake-workos/server.ts';
import { useTestContext } from './support/context.ts';
import { FAST_RETRY } from './support/workos.ts';

const ctx = useTestContext('poller.faults');
let fake: FakeWorkOS;

beforeEach(async () => {
  await ctx.db.deleteFrom('inbox').execute();
  await ctx.db.deleteFrom('poll_cursors').execute();
  fake = await startFakeWorkOS();
  seedWorld(fake.store, 'org_faults', { users: 60, groups: 2 }); // 123 events: two pages
});
afterEach(async () => {
  await fake.close();
});

async function inboxCount(): Promise<number> {
  const row = await ctx.db
    .selectFrom('inbox')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('pollEvents under faults', () => {
  it('waits for Retry-After on a 429, then carries on', async () => {
    fake.inject({ path: '/events', status: 429, retryAfter: 1 });
    const resources = ctx.openResources(fake.env);
    try {
      const result = await pollEvents(resources, { retry: FAST_RETRY });
      expect(result).toMatchObject({ status: 'done', inserted: fake.store.events.length });
    } finally {
      await resources.close();
    }
    const [limited, retried] = fake.requests;
    expect(limited?.status).toBe(429);
    expect(retried?.status).toBe(200);
    // Retry-After is a lower bound, never an upper one.
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(900);
    expect(await inboxCount()).toBe(fake.store.events.length);
  });

  it('waits for a Retry-After given as an HTTP-date', async () => {
    // Whole seconds only: at least one full second from now.
    const at = new Date(Math.ceil((Date.now() + 1_500) / 1000) * 1000);
    fake.inject({ path: '/events', status: 429, retryAfter: at.toUTCString() });
    const resources = ctx.openResources(fake.env);
    try {
      const result = await pollEvents(resources, { retry: FAST_RETRY });
      expect(result).toMatchObject({ status: 'done', inserted: fake.store.events.length });
    } finally {
      await resources.close();
    }
    const [limited, retried] = fake.requests;
    expect(limited?.status).toBe(429);
    expect(retried?.status).toBe(200);
    // FAST_RETRY's fallback for an unreadable Retry-After is 50 ms.
    expect(retried!.at).toBeGreaterThanOrEqual(at.getTime() - 50);
  });

  it('gives up when an HTTP-date Retry-After is further off than it will wait', async () => {
    const at = new Date(Date.now() + 3600_000);
    fake.inject({ path: '/events', status: 429, retryAfter: at.toUTCString() });
    const resources = ctx.openResources(fake.env);
    try {
      await expect(pollEvents(resources, { retry: FAST_RETRY })).rejects.toThrow(/rate limited/);
    } finally {
      await resources.close();
    }
  });

  it('backs off through 500s, a dropped connection and a slow answer', async () => {
    fake.inject({ path: '/events', status: 500, times: 2 });
    fake.inject({ path: '/events', drop: true });
    // The slow answer never comes: the client's timeout, not a race with a delay, ends
    // it; and the timeout is long enough that no ordinary answer on a loaded machine
    // is taken for a slow one.
    fake.inject({ path: '/events', hang: true });
    const resources = ctx.openResources(fake.env);
    try {
      const workos = createWorkOSClient(resources.config, { timeoutMs: 2_000 });
      const result = await pollEvents(resources, { workos, retry: FAST_RETRY });
      expect(result).toMatchObject({ status: 'done', inserted: fake.store.events.length });
    } finally {
      await resources.close();
    }
    // 500, 500, dropped, too slow (the client gave up on it), then both pages.
    const statuses = fake.requests.map((r) => r.status);
    expect(statuses.slice(0, 3)).toEqual([500, 500, -1]);
    expect(statuses.slice(4)).toEqual([200, 200]);
    expect(await inboxCount()).toBe(fake.store.events.length);
  });

  it('recovers from a 503 in the middle of the stream without a gap', async () => {
    const resources = ctx.openResources(fake.env);
    try {
      await pollEvents(resources, { retry: FAST_RETRY, maxPages: 1 });
      fake.inject({ path: '/events', status: 503, times: 3 });
      const result = await pollEvents(resources, { retry: FAST_RETRY });
      expect(result.inserted).toBe(fake.store.events.length - 100);
    } finally {
      await resources.close();
    }
    expect(await inboxCount()).toBe(fake.store.events.length);
  });

  it('fails when the retries run out, keeping its cursor for the next run', async () => {
    fake.inject({ path: '/events', status: 500, times: 50 });
    const resources = ctx.openResources(fake.env);
    try {
      await expect(
        pollEvents(resources, { retry: { ...FAST_RETRY, retries: 2 } }),
      ).rejects.toThrow();
      expect(fake.requests).toHaveLength(3);
      expect(await findPollCursor(ctx.db, EVENTS_CURSOR)).toBeUndefined();
    } finally {
      await resources.close();
    }
  });

  it('gives up at once on a rejected API key', async () => {
    const resources = ctx.openResources({ ...fake.env, WORKOS_API_KEY: 'sk_test_wrong' });
    try {
      await expect(pollEvents(resources, { retry: FAST_RETRY })).rejects.toBeInstanceOf(
        WorkOSRequestError,
      );
      expect(fake.requests).toHaveLength(1);
    } finally {
      await resources.close();
    }
  });

  it('gives up when Retry-After asks for longer than it will wait', async () => {
    fake.inject({ path: '/events', status: 429, retryAfter: 3600 });
    const resources = ctx.openResources(fake.env);
    try {
      await expect(pollEvents(resources, { retry: FAST_RETRY })).rejects.toThrow(/rate limited/);
    } finally {
      await resources.close();
    }
  });

  it('stores an invalid event as dead with its error and polls on past it', async () => {
    const good = fake.store.events.length;
    fake.store.appendEvent({
      object: 'event',
      id: 'event_01ZZINVALID0000000000000000',
      event: 'dsync.user.created',
      // Invalid, and not a deprovisioning (active): dead. (An invalid deprovisioning
      // is kept pending and applied: test/fail-closed.test.ts.)
      data: { id: 'directory_user_broken', organization_id: 'org_faults', state: 'active' },
      created_at: new Date().toISOString(),
      context: {},
    });
    seedWorld(fake.store, 'org_after', { users: 1, groups: 1 });
    const resources = ctx.openResources(fake.env);
    try {
      const result = await pollEvents(resources, { retry: FAST_RETRY });
      expect(result).toMatchObject({ invalid: 1, inserted: fake.store.events.length });
    } finally {
      await resources.close();
    }
    const dead = await ctx.db
      .selectFrom('inbox')
      .selectAll()
      .where('status', '=', 'dead')
      .execute();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      event_id: 'event_01ZZINVALID0000000000000000',
      organization_id: 'org_faults',
      event_type: 'dsync.user.created',
    });
    expect(dead[0]?.last_error).toMatch(/invalid dsync.user.created data/);
    expect(await inboxCount()).toBe(good + 1 + 4);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-10-21T07:28:00.000Z');
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
  });
  it('reads an HTTP-date as the time left until it; a past date is 0', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:28:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wednesday, 21-Oct-26 07:29:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Tue, 20 Oct 2026 07:28:00 GMT', now)).toBe(0);
  });
  it('answers null for nothing, garbage, negatives and fractions', () => {
    for (const value of [undefined, null, '', 'soon', '-1', '1.5', '2026-10-21']) {
      expect(parseRetryAfter(value, now), String(value)).toBeNull();
    }
  });
});
