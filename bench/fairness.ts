// npm run bench:fairness — whether one huge backlog starves everyone else. With the
// default worker settings (one worker process, DRAIN_CONCURRENCY, DRAIN_BATCH_SIZE),
// the worker and the API each their own process:
//  1. solo: one organization with --big pending events (an initial sync: users
//     created) drained alone: its events/s;
//  2. shared: another organization with as many pending events starts draining, and
//     --small organizations post --per-small events each, signed, to the webhook
//     endpoint while it drains (spread over --spread seconds): for their events the
//     time from the POST to applied (`inbox.applied_at`, the applying transaction's
//     start; same host clock), p50/p99; and the big organization's events/s while
//     the small ones were arriving and draining, and over its whole drain, against (1).
// Targets: small organizations' p99 < 2 s, the big one ≥ 80% of its solo rate. The
// last line is one JSON object with every figure.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { toInboxEvent } from '../common/inbox-row.ts';
import { createRedis, deleteKeysWithPrefix } from '../common/redis.ts';
import { createDrainQueue, triggerDrain } from '../common/triggers.ts';
import type { Database } from '../db/database.ts';
import { insertEvents } from '../db/repositories/inbox.repository.ts';
import { initialSync } from '../test/support/directory.ts';
import type { WireEvent } from '../test/support/events.ts';
import {
  benchConfig,
  dropSchema,
  freshSchema,
  percentile,
  report,
  round,
  signWebhook,
  startProcess,
  stopProcess,
  waitFor,
} from './support.ts';

const { values: args } = parseArgs({
  options: {
    big: { type: 'string', default: '100000' },
    small: { type: 'string', default: '2000' },
    'per-small': { type: 'string', default: '5' },
    spread: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
  },
});
const BIG = Number(args.big);
const SMALL = Number(args.small);
const PER_SMALL = Number(args['per-small']);
const SPREAD_S = Number(args.spread);
const CONNECTIONS = Number(args.connections);
const SECRET = 'whsec_bench_fairness';

const config = benchConfig('fairness', { WORKOS_WEBHOOK_SECRET: SECRET, PORT: '0' });

async function store(db: Database, events: readonly WireEvent[]) {
  for (let i = 0; i < events.length; i += 2000) {
    await insertEvents(
      db,
      events.slice(i, i + 2000).map((e) => {
        const converted = toInboxEvent(e, 'webhook');
        if (!converted.ok) throw new Error(converted.error);
        return converted.row;
      }),
    );
  }
}

/** A big organization's backlog: BIG events (users created), stored pending. */
function bigBacklog(org: string): WireEvent[] {
  return initialSync({ org, users: BIG - 1 });
}

const countOf = async (db: Database, org: string, status: string) =>
  Number(
    (
      await sql<{ n: number }>`select count(*)::int as n from ${sql.table('inbox')}
        where organization_id = ${org} and status = ${status}`.execute(db)
    ).rows[0]!.n,
  );

/** Applied times of the big organization's events within [from, to] (ms), counted. */
async function appliedBetween(db: Database, org: string, from: number, to: number) {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table('inbox')}
    where organization_id = ${org} and applied_at between ${new Date(from)} and ${new Date(to)}`.execute(
    db,
  );
  return rows[0]!.n;
}

async function drainAlone(db: Database, org: string, queue: ReturnType<typeof createDrainQueue>) {
  const started = Date.now();
  await triggerDrain(queue, org);
  await waitFor(async () => (await countOf(db, org, 'pending')) === 0, 30 * 60_000, 200);
  const seconds = (Date.now() - started) / 1000;
  return { seconds, rate: BIG / seconds };
}

/** Posts every small organization's events, paced over SPREAD_S; the POST time of each. */
async function postSmall(address: string): Promise<Map<string, number>> {
  const events = Array.from({ length: SMALL }, (_, i) =>
    initialSync({ org: `org_small_${i}`, users: PER_SMALL - 1 }),
  );
  // Interleaved: each organization's events in order, organizations side by side.
  const order: WireEvent[] = [];
  for (let k = 0; k < PER_SMALL; k++) for (const org of events) if (org[k]) order.push(org[k]!);
  const posted = new Map<string, number>();
  const perMs = order.length / (SPREAD_S * 1000);
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < order.length) {
        const event = order[next++]!;
        const due = started + (next - 1) / perMs;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        const body = JSON.stringify(event);
        const at = Date.now();
        const res = await fetch(`${address}/webhooks/workos`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'workos-signature': signWebhook(body, SECRET),
          },
          body,
        });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`POST answered ${res.status}`);
        posted.set(event.id, at);
      }
    }),
  );
  return posted;
}

const db = await freshSchema(config);
const redis = createRedis(config, 'worker');
await deleteKeysWithPrefix(redis, config.REDIS_PREFIX);
const queue = createDrainQueue(config, redis);
let worker: Awaited<ReturnType<typeof startProcess>> | undefined;
let api: Awaited<ReturnType<typeof startProcess>> | undefined;
try {
  report(
    `fairness: ${os.availableParallelism()} cores; DRAIN_CONCURRENCY ${config.DRAIN_CONCURRENCY}, DRAIN_BATCH_SIZE ${config.DRAIN_BATCH_SIZE}`,
  );
  worker = await startProcess('worker/main.ts', config);
  api = await startProcess('api/main.ts', config);

  report(`solo: ${BIG} pending events of one organization …`);
  await store(db, bigBacklog('org_big_solo'));
  const solo = await drainAlone(db, 'org_big_solo', queue);
  report(`  drained in ${round(solo.seconds)} s: ${round(solo.rate, 0)} events/s`);

  report(
    `shared: ${BIG} pending events of another, while ${SMALL} organizations post ${PER_SMALL} events each over ${SPREAD_S} s …`,
  );
  const big = 'org_big';
  await store(db, bigBacklog(big));
  const bigStarted = Date.now();
  await triggerDrain(queue, big);
  // Let the big drain get going before the small ones arrive.
  await waitFor(async () => (await countOf(db, big, 'applied')) > 0, 60_000, 50);
  const smallStarted = Date.now();
  const posted = await postSmall(api.address!);
  const smallOrgs = Array.from({ length: SMALL }, (_, i) => `org_small_${i}`);
  await waitFor(
    async () => {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table('inbox')}
        where organization_id = any(${smallOrgs}) and status = 'pending'`.execute(db);
      return rows[0]!.n === 0;
    },
    10 * 60_000,
    100,
  );
  const { rows: applied } = await sql<{ event_id: string; applied_at: Date }>`
    select event_id, applied_at from ${sql.table('inbox')}
    where organization_id = any(${smallOrgs}) and applied_at is not null`.execute(db);
  const smallDone = Math.max(...applied.map((r) => r.applied_at.getTime()));
  const latencies = applied
    .filter((r) => posted.has(r.event_id))
    .map((r) => Math.max(0, r.applied_at.getTime() - posted.get(r.event_id)!));
  const bigDuringSmall = await appliedBetween(db, big, smallStarted, smallDone);
  const bigWindowRate = bigDuringSmall / ((smallDone - smallStarted) / 1000);
  await waitFor(async () => (await countOf(db, big, 'pending')) === 0, 30 * 60_000, 200);
  const bigSeconds = (Date.now() - bigStarted) / 1000;
  const bigRate = BIG / bigSeconds;

  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  report(`  small organizations: ${latencies.length} of ${posted.size} events applied`);
  report(
    `  POST to applied: p50 ${round(p50, 0)} ms, p99 ${round(p99, 0)} ms, max ${round(Math.max(...latencies), 0)} ms`,
  );
  report(
    `  big organization while the small ones arrived and drained: ${round(bigWindowRate, 0)} events/s (${round((100 * bigWindowRate) / solo.rate, 1)}% of solo)`,
  );
  report(
    `  big organization over its whole drain: ${round(bigSeconds)} s, ${round(bigRate, 0)} events/s (${round((100 * bigRate) / solo.rate, 1)}% of solo)`,
  );
  const met = p99 < 2_000 && bigWindowRate >= 0.8 * solo.rate;
  report(`targets (small p99 < 2 s, big >= 80% of solo while shared): ${met ? 'met' : 'NOT met'}`);
  report(
    JSON.stringify({
      bench: 'fairness',
      cores: os.availableParallelism(),
      drain_concurrency: config.DRAIN_CONCURRENCY,
      drain_batch_size: config.DRAIN_BATCH_SIZE,
      big_events: BIG,
      small_organizations: SMALL,
      events_per_small: PER_SMALL,
      spread_s: SPREAD_S,
      solo_events_per_s: round(solo.rate, 0),
      small_applied: latencies.length,
      small_p50_ms: round(p50, 0),
      small_p99_ms: round(p99, 0),
      small_max_ms: round(Math.max(...latencies), 0),
      big_shared_window_events_per_s: round(bigWindowRate, 0),
      big_shared_window_ratio: round(bigWindowRate / solo.rate, 3),
      big_whole_drain_events_per_s: round(bigRate, 0),
      big_whole_drain_ratio: round(bigRate / solo.rate, 3),
      targets_met: met,
    }),
  );
} finally {
  if (api) await stopProcess(api.child);
  if (worker) await stopProcess(worker.child);
  await queue.close();
  await deleteKeysWithPrefix(redis, config.REDIS_PREFIX);
  redis.disconnect();
  await dropSchema(db, config);
  await db.destroy();
}
