// The revocation outbox and its relay: messages written in the revoking transaction,
// sent in commit order, at least once, while Redis comes and goes; the stream is
// capped; sent rows are pruned; the relay is woken by the outbox's NOTIFY from
// another connection's commit (its poll set to a minute, so only the NOTIFY can wake
// it within the test), listens again after its connection is killed, and flushes
// what is committed when it stops. Against a private redis-server the tests stop.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../common/logger.ts';
import type { Resources } from '../common/resources.ts';
import {
  parseRevocationMessage,
  STREAM_FIELD,
  sessionsRevokedKey,
} from '../common/revocation-message.ts';
import type { Transaction } from '../db/database.ts';
import { listenForNotifications } from '../db/notification-listener.ts';
import {
  appendRevocations,
  type OutboxEntry,
  pruneSentRevocations,
  revocationBacklog,
  revocationOutboxChannel,
  revocationOutboxChannelSql,
  tryLockRelay,
} from '../db/repositories/revocation-outbox.repository.ts';
import { drainOrganization } from '../worker/drain/drain-organization.ts';
import { relayOnce, startRelay } from '../worker/relay/revocation-relay.ts';
import { sendRevocations } from '../worker/relay/send-revocations.ts';
import { useTestContext } from './support/context.ts';
import { initialSync, userDeleted } from './support/directory.ts';
import { storeEvents } from './support/events.ts';
import { type PrivateRedis, startPrivateRedis } from './support/private-redis.ts';

const ctx = useTestContext('revocation_outbox');
const log = createLogger({ LOG_LEVEL: 'silent' });
let redis: PrivateRedis;
let resources: Resources;
const key = () => sessionsRevokedKey(ctx.config.REDIS_PREFIX);

beforeAll(async () => {
  redis = await startPrivateRedis();
  resources = ctx.openResources({ REDIS_URL: redis.url, REVOCATION_RELAY_POLL_MS: 60_000 });
});
afterAll(async () => {
  await resources?.close();
  await redis?.close();
});

function entry(reason = 'user_deleted'): OutboxEntry {
  return {
    organizationId: 'org_outbox',
    userId: randomUUID(),
    sessionIds: [randomUUID(), randomUUID()],
    reason,
    eventId: null,
    eventReceivedAt: null,
  };
}

/** Everything in the stream, as messages. */
async function streamed() {
  const entries = await resources.redis.xrange(key(), '-', '+');
  return entries.map(([, fields]) =>
    parseRevocationMessage(fields[fields.indexOf(STREAM_FIELD) + 1]!),
  );
}

/** Sends until nothing is unsent. */
async function relayAll() {
  for (;;) {
    const pass = await relayOnce(resources);
    if (pass.kind === 'sent' && !pass.more) return;
  }
}

async function clearOutbox() {
  await relayAll();
  await resources.redis.del(key());
}

/** An open transaction of its own, with a way to end it from the test. */
function openTransaction<T>(work: (trx: Transaction) => Promise<T>) {
  let finish!: (commit: boolean) => void;
  const decided = new Promise<boolean>((resolve) => {
    finish = resolve;
  });
  let done!: Promise<T>;
  const ran = new Promise<T>((resolve, reject) => {
    done = ctx.db
      .transaction()
      .execute(async (trx) => {
        const result = await work(trx);
        resolve(result);
        if (!(await decided)) throw new Error('rolled back by the test');
        return result;
      })
      .catch((err) => {
        reject(err);
        throw err;
      });
  });
  return {
    ran,
    commit: async () => {
      finish(true);
      await done;
    },
  };
}

async function backendWaitingOnLock(): Promise<boolean> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from pg_stat_activity
    where wait_event_type = 'Lock' and query like '%pg_advisory_xact_lock%'
      and datname = current_database() and pid <> pg_backend_pid()
  `.execute(ctx.db);
  return rows[0]!.n > 0;
}

describe('revocation outbox', () => {
  it('serializes writers, so the relay sends in commit order and never an uncommitted row', async () => {
    await clearOutbox();
    const first = entry();
    const second = entry();
    const a = openTransaction((trx) => appendRevocations(trx, [first]));
    await a.ran;
    // B asks for the writer lock while A holds it: B's id comes after A's commit.
    const b = openTransaction((trx) => appendRevocations(trx, [second]));
    await expect.poll(backendWaitingOnLock).toBe(true);
    expect(await relayOnce(resources)).toEqual({ kind: 'sent', count: 0, more: false });
    await a.commit();
    await b.ran;
    await b.commit();
    await relayAll();
    expect((await streamed()).map((m) => m.userId)).toEqual([first.userId, second.userId]);
    const ids = (await streamed()).map((m) => Number(m.id));
    expect(ids[0]).toBeLessThan(ids[1]!);
  });

  it('sends a row that committed after a later id was sent (late, never lost)', async () => {
    await clearOutbox();
    // A writer that skipped the lock: its lower id commits after a higher one.
    const early = entry();
    const late = entry();
    const x = openTransaction((trx) =>
      trx
        .insertInto('revocation_outbox')
        .values({
          organization_id: early.organizationId,
          user_id: early.userId,
          session_ids: early.sessionIds as string[],
          reason: early.reason,
          event_id: null,
          event_received_at: null,
        })
        .execute(),
    );
    await x.ran;
    await ctx.db.transaction().execute((trx) => appendRevocations(trx, [late]));
    await relayAll();
    expect((await streamed()).map((m) => m.userId)).toEqual([late.userId]);
    await x.commit();
    await relayAll();
    expect((await streamed()).map((m) => m.userId)).toEqual([late.userId, early.userId]);
  });

  it('sends again, with the same id, when Redis took a batch but marking it sent failed', async () => {
    await clearOutbox();
    const e = entry();
    await ctx.db.transaction().execute((trx) => appendRevocations(trx, [e]));
    await expect(
      relayOnce(resources, {
        send: async (rows) => {
          await sendRevocations(resources.redis, key(), 1000, rows);
          throw new Error('connection lost before the answer');
        },
      }),
    ).rejects.toThrow('could not send revocations to redis');
    await relayAll();
    const messages = await streamed();
    expect(messages.map((m) => m.userId)).toEqual([e.userId, e.userId]);
    expect(messages[0]!.id).toBe(messages[1]!.id);
    expect(await revocationBacklog(ctx.db)).toEqual({ unsent: 0, oldestUnsentAt: null });
  });

  it('a deprovisioning committed while Redis is down is delivered once Redis returns', async () => {
    await clearOutbox();
    const org = 'org_redis_down';
    await storeEvents(ctx.db, initialSync({ org, users: 2 }));
    await drainOrganization(resources, org, { log });
    const user = await ctx.db
      .selectFrom('users')
      .select('id')
      .where('directory_user_id', '=', `directory_user_${org}_0`)
      .executeTakeFirstOrThrow();
    const sessions = await ctx.db
      .insertInto('sessions')
      .values([{ user_id: user.id }])
      .returning('id')
      .execute();

    const failuresBefore = (await resources.metrics.revocationPublishFailures.get()).values[0]
      ?.value;
    const relay = startRelay(resources);
    try {
      await redis.stop();
      await storeEvents(ctx.db, [userDeleted(org, 0, Date.UTC(2026, 10, 2))]);
      await drainOrganization(resources, org, { log, revocationsCommitted: relay.nudge });
      // Committed, revoked, not sent: the relay keeps failing and counts it.
      expect(
        (await ctx.db.selectFrom('sessions').select('revoked_at').executeTakeFirstOrThrow())
          .revoked_at,
      ).not.toBeNull();
      await expect
        .poll(
          async () => (await resources.metrics.revocationPublishFailures.get()).values[0]?.value,
        )
        .toBeGreaterThan(failuresBefore ?? 0);
      expect((await revocationBacklog(ctx.db)).unsent).toBe(1);

      await redis.start();
      // The relay's backoff reaches 2 s while Redis is down: wait as long as a loaded machine needs.
      await expect
        .poll(async () => (await streamed()).map((m) => m.userId), { timeout: 20_000 })
        .toEqual([user.id]);
      await expect
        .poll(async () => (await revocationBacklog(ctx.db)).unsent, { timeout: 20_000 })
        .toBe(0);
      expect((await streamed())[0]).toMatchObject({
        v: 1,
        organizationId: org,
        sessionIds: sessions.map((s) => s.id),
        reason: 'user_deleted',
      });
    } finally {
      await relay.stop();
      await redis.start();
    }
  });

  it('caps the stream near REVOCATION_STREAM_MAXLEN', async () => {
    await clearOutbox();
    await ctx.db.transaction().execute((trx) =>
      appendRevocations(
        trx,
        Array.from({ length: 1200 }, () => entry()),
      ),
    );
    const capped = { ...resources, config: { ...resources.config, REVOCATION_STREAM_MAXLEN: 100 } };
    for (;;) {
      const pass = await relayOnce(capped);
      if (pass.kind === 'sent' && !pass.more) break;
    }
    // MAXLEN ~ trims whole nodes (100 entries each by default): near the cap, not at it.
    const length = await resources.redis.xlen(key());
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(300);
  });

  it('prunes rows sent longer ago than the retention, never unsent ones', async () => {
    await clearOutbox();
    await ctx.db.transaction().execute((trx) => appendRevocations(trx, [entry(), entry()]));
    await relayAll();
    await ctx.db.transaction().execute((trx) => appendRevocations(trx, [entry()]));
    await sql`update ${sql.table('revocation_outbox')} set sent_at = now() - interval '25 hours' where sent_at is not null`.execute(
      ctx.db,
    );
    const total = async () =>
      Number(
        (
          await ctx.db
            .selectFrom('revocation_outbox')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await pruneSentRevocations(ctx.db, 24)).toBeGreaterThanOrEqual(2);
    expect(await total()).toBe(1);
    expect((await revocationBacklog(ctx.db)).unsent).toBe(1);
  });
});

describe('revocation outbox: wake-up and stop', () => {
  const commitRevocations = (entries: OutboxEntry[]) =>
    ctx.db.transaction().execute((trx) => appendRevocations(trx, entries));
  const sentUsers = async () => (await streamed()).map((m) => m.userId);
  /** The relay's LISTEN session, seen from Postgres. */
  const listenerPids = async () =>
    (
      await sql<{ pid: number }>`
        select pid from pg_stat_activity
        where application_name = ${`dirsync-relay:${ctx.config.DATABASE_SCHEMA}`}
      `.execute(ctx.db)
    ).rows.map((r) => r.pid);

  it('names the channel after the schema, in SQL as in TypeScript, within 63 bytes', async () => {
    const long = `s_${'x'.repeat(60)}`;
    for (const schema of [ctx.config.DATABASE_SCHEMA, 'dirsync', long]) {
      const { rows } = await sql<{ channel: string }>`
        select ${revocationOutboxChannelSql(sql`${schema}::text`)} as channel
      `.execute(ctx.db);
      expect(rows[0]!.channel).toBe(revocationOutboxChannel(schema));
      expect(Buffer.byteLength(revocationOutboxChannel(schema))).toBeLessThanOrEqual(63);
    }
    expect(revocationOutboxChannel('dirsync')).toBe('dirsync.revocation_outbox');
    expect(revocationOutboxChannel(long)).not.toBe(revocationOutboxChannel(`${long}y`));
  });

  it('notifies the channel at commit with the highest new id, never for a rollback', async () => {
    await clearOutbox();
    const payloads: Array<string | undefined> = [];
    let listening = false;
    const listener = listenForNotifications({
      config: ctx.config,
      channel: revocationOutboxChannel(ctx.config.DATABASE_SCHEMA),
      applicationName: 'dirsync-test-listener',
      logger: log,
      onNotification: (payload) => payloads.push(payload),
      onListening: () => {
        listening = true;
      },
    });
    try {
      await expect.poll(() => listening).toBe(true);
      await ctx.db
        .transaction()
        .execute(async (trx) => {
          await appendRevocations(trx, [entry()]);
          throw new Error('rolled back by the test');
        })
        .catch(() => {});
      const ids = await commitRevocations([entry(), entry()]);
      await expect.poll(() => payloads).toEqual([String(Math.max(...ids))]);
    } finally {
      await listener.close();
    }
  });

  it("wakes on the NOTIFY of another connection's commit, without waiting for its poll", async () => {
    await clearOutbox();
    const relay = startRelay(resources); // REVOCATION_RELAY_POLL_MS: a minute
    try {
      await expect.poll(() => relay.listening, { timeout: 20_000 }).toBe(true);
      const e = entry();
      await commitRevocations([e]); // no nudge(): as another process commits
      await expect.poll(sentUsers, { timeout: 20_000 }).toEqual([e.userId]);
    } finally {
      await relay.stop();
    }
  });

  it('listens again when its LISTEN connection is killed, and wakes on the next commit', async () => {
    await clearOutbox();
    const relay = startRelay(resources);
    try {
      await expect.poll(() => relay.listening, { timeout: 20_000 }).toBe(true);
      const [before] = await listenerPids();
      expect(before).toBeDefined();
      await sql`select pg_terminate_backend(${before!}::int)`.execute(ctx.db);
      // A new session, and the LISTEN in place on it.
      await expect
        .poll(
          async () => {
            const pids = await listenerPids();
            return pids.length === 1 && pids[0] !== before && relay.listening;
          },
          { timeout: 20_000 },
        )
        .toBe(true);
      const e = entry();
      await commitRevocations([e]);
      await expect.poll(sentUsers, { timeout: 20_000 }).toEqual([e.userId]);
    } finally {
      await relay.stop();
    }
    expect(await listenerPids()).toEqual([]);
  });

  it('sends what was committed before stop() before it returns (final flush)', async () => {
    await clearOutbox();
    // The test holds the relay lock: every pass of the running relay finds it busy.
    const holder = openTransaction((trx) => tryLockRelay(trx));
    expect(await holder.ran).toBe(true);
    const relay = startRelay(resources, { listen: false });
    const entries = [entry(), entry(), entry()];
    await commitRevocations(entries);
    const stopped = relay.stop({ flushUntil: Date.now() + 60_000 });
    await holder.commit(); // the lock is free only once stop() has begun
    await stopped;
    expect(await sentUsers()).toEqual(entries.map((x) => x.userId));
    expect((await revocationBacklog(ctx.db)).unsent).toBe(0);
  });

  it('gives up its final flush while Redis is down; the rows wait for the next relay', async () => {
    await clearOutbox();
    const relay = startRelay(resources, { listen: false });
    try {
      await redis.stop();
      await commitRevocations([entry()]);
      await relay.stop({ flushUntil: Date.now() + 600_000 });
      expect((await revocationBacklog(ctx.db)).unsent).toBe(1);
    } finally {
      await relay.stop();
      await redis.start();
    }
    // Sent once the producer connection is back.
    await expect
      .poll(
        async () => {
          await relayAll().catch(() => {});
          return (await revocationBacklog(ctx.db)).unsent;
        },
        { timeout: 20_000 },
      )
      .toBe(0);
  });
});
