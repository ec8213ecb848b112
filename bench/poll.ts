// npm run bench:poll — draining the WorkOS Events API into applied state.
//  1. a fake WorkOS (its own worker thread) holds 100,000 directory events: users
//     created and updated, groups, memberships, a few deletions, over 10
//     organizations;
//  2. the worker runs in this process (startService, WORKOS_* pointing at the fake);
//     the poller reads the stream page after page (limit 100) into the inbox and
//     triggers the drains, which apply while it reads;
//  3. measured: polled events/s and pages/s (poll start to caught up), applied
//     events/s (poll start to the last inbox row applied); then every organization's
//     users, groups and memberships are checked against the fake's state.
// Uses its own schema and Redis prefix and removes them. The last line is one JSON
// object with every figure.
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import { createLogger } from '../common/logger.ts';
import { startService } from '../service.ts';
import { type DirectoryShape, databaseShape } from '../test/fake-workos/compare.ts';
import type { FakeWorkOS } from '../test/fake-workos/server.ts';
import type { ThreadData, ThreadRequest } from '../test/fake-workos/thread.ts';
import { pollEvents } from '../worker/poller/poll-events.ts';
import { benchConfig, dropSchema, freshSchema, report, round, waitFor } from './support.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    orgs: { type: 'string', default: '10' },
  },
});
const EVENTS = Number(args.events);
const ORGS = Number(args.orgs);

function startFake(data: ThreadData) {
  const thread = new Worker(new URL('../test/fake-workos/thread.ts', import.meta.url), {
    workerData: data,
  });
  let nextId = 0;
  const waiting = new Map<number, (shape: DirectoryShape) => void>();
  const ready = new Promise<{ env: FakeWorkOS['env']; events: number; organizations: string[] }>(
    (resolve, reject) => {
      thread.once('error', reject);
      thread.on(
        'message',
        (m: { type: string; id?: number; shape?: DirectoryShape; env?: FakeWorkOS['env'] }) => {
          if (m.type === 'ready') resolve(m as never);
          if (m.type === 'shape') waiting.get(m.id!)?.(m.shape!);
        },
      );
    },
  );
  const send = (m: ThreadRequest) => thread.postMessage(m);
  return {
    ready,
    shape(organizationId: string) {
      const id = ++nextId;
      return new Promise<DirectoryShape>((resolve) => {
        waiting.set(id, resolve);
        send({ type: 'shape', id, organizationId });
      });
    },
    async close() {
      send({ type: 'close' });
      await new Promise((r) => thread.once('exit', r));
    },
  };
}

const seedStarted = performance.now();
const fake = startFake({ count: EVENTS, organizations: ORGS, seed: 42 });
const upstream = await fake.ready;
const seedSeconds = (performance.now() - seedStarted) / 1000;

const config = benchConfig('poll', {
  WORKOS_API_KEY: upstream.env.WORKOS_API_KEY,
  WORKOS_API_HOSTNAME: upstream.env.WORKOS_API_HOSTNAME,
  WORKOS_API_PORT: String(upstream.env.WORKOS_API_PORT),
  WORKOS_API_HTTPS: 'false',
  WORKOS_POLL_INTERVAL_MS: '0', // the poll below is the only one
  MIGRATE_ON_START: 'false',
});
const db = await freshSchema(config);
const logger = createLogger({ LOG_LEVEL: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'silent' });
const service = await startService(config, logger, { api: false, worker: true });

const pending = async () =>
  Number(
    (
      await sql<{
        n: number;
      }>`select count(*)::int as n from ${sql.table('inbox')} where status = 'pending'`.execute(db)
    ).rows[0]!.n,
  );

let summary: Record<string, unknown>;
try {
  report(
    `fake WorkOS: ${upstream.events} events over ${upstream.organizations.length} organizations (seeded in ${round(seedSeconds)} s)`,
  );
  const started = performance.now();
  const poll = await pollEvents(service.resources, {
    onPage: ({ pages, events }) => {
      if (process.stderr.isTTY && pages % 50 === 0) {
        process.stderr.write(`\rpolled ${events} events, ${pages} pages`);
      }
    },
  });
  const pollSeconds = (performance.now() - started) / 1000;
  if (process.stderr.isTTY) process.stderr.write('\n');
  await waitFor(async () => (await pending()) === 0, 30 * 60_000, 100);
  const appliedSeconds = (performance.now() - started) / 1000;

  const counts = await sql<{ status: string; n: number }>`
    select status, count(*)::int as n from ${sql.table('inbox')} group by status order by status
  `.execute(db);
  const byStatus = Object.fromEntries(counts.rows.map((r) => [r.status, r.n]));
  let consistent = true;
  for (const org of upstream.organizations) {
    if (!isDeepStrictEqual(await databaseShape(db, org), await fake.shape(org))) {
      consistent = false;
      report(`MISMATCH: ${org} differs from the fake WorkOS`);
    }
  }

  const polledRate = poll.events / pollSeconds;
  const pagesRate = poll.pages / pollSeconds;
  const appliedRate = (byStatus.applied ?? 0) / appliedSeconds;
  report(
    `poll:    ${poll.events} events, ${poll.pages} pages in ${round(pollSeconds, 2)} s → ${Math.round(polledRate)} events/s, ${round(pagesRate)} pages/s`,
  );
  report(
    `applied: ${byStatus.applied ?? 0} events in ${round(appliedSeconds, 2)} s from the first poll → ${Math.round(appliedRate)} events/s`,
  );
  report(
    `inbox:   ${JSON.stringify(byStatus)}; database ${consistent ? 'matches' : 'DOES NOT match'} the fake WorkOS`,
  );
  summary = {
    benchmark: 'poll',
    events: upstream.events,
    organizations: upstream.organizations.length,
    pages: poll.pages,
    poll_seconds: round(pollSeconds, 2),
    polled_events_per_s: Math.round(polledRate),
    pages_per_s: round(pagesRate),
    applied_events: byStatus.applied ?? 0,
    applied_seconds: round(appliedSeconds, 2),
    applied_events_per_s: Math.round(appliedRate),
    dead_events: byStatus.dead ?? 0,
    consistent,
    drain_concurrency: config.DRAIN_CONCURRENCY,
    drain_batch_size: config.DRAIN_BATCH_SIZE,
  };
} finally {
  await service.stop();
  await dropSchema(db, config);
  await db.destroy();
  await fake.close();
  // BullMQ's keys under this benchmark's prefix.
  const { createRedis, deleteKeysWithPrefix } = await import('../common/redis.ts');
  const redis = createRedis(config, 'worker');
  await deleteKeysWithPrefix(redis, config.REDIS_PREFIX);
  redis.disconnect();
}
report(JSON.stringify(summary));
