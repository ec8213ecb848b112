// npm run bench:ingest — how fast POST /webhooks/workos takes events, on real
// Postgres and Redis, beside the naive limit of the same machine:
//  1. raw: single-row `INSERT … ON CONFLICT DO NOTHING RETURNING` of the same
//     payloads from Node through `pg`, one statement in flight per connection of a
//     pool as large as the API's, for the same duration in two halves, one before and
//     one after (2), so that a change in the machine's background load weighs on
//     both figures alike: inserts/s;
//  3. naive: the same load against the receiver a user would write instead
//     (bench/naive-receiver.ts: node:http, the SDK's constructEvent on the raw body,
//     one INSERT per request, a pool of the same size), also its own process:
//     requests/s and latency, and dirsync's ratio to it;
//  2. http: autocannon posts signed `dsync.user.created` events, a unique id per
//     request, spread over many organizations, to the API running as its own process
//     (`node api/main.ts`, as deployed, so that the load generator does not share the
//     server's event loop): requests/s, p50/p99 latency, and the ratio to (1).
// Afterwards every 200 must be a stored row: each request carries its event id as its
// `x-request-id`, which the API echoes, so every acknowledged id is looked up. No worker
// runs: ingestion only. The last line is one JSON object with every figure; the exit
// code is 1 when any request failed (non-2xx, error, timeout) or a 200 was not stored.
import os from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import { createRedis, deleteKeysWithPrefix } from '../common/redis.ts';
import { createDrainQueue } from '../common/triggers.ts';
import { createPool, type Database } from '../db/database.ts';
import { userData } from '../test/support/events.ts';
import {
  benchConfig,
  dropSchema,
  freshSchema,
  report,
  round,
  signWebhook,
  startProcess,
  stopProcess,
} from './support.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    orgs: { type: 'string', default: '500' },
    pool: { type: 'string', default: '10' },
    // > 1: also N API processes side by side (ports of their own, the load split
    // evenly, as a load balancer or SO_REUSEPORT would), each with its own pool.
    apis: { type: 'string', default: '1' },
  },
});
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const CONNECTIONS = Number(args.connections);
const ORGS = Number(args.orgs);
const POOL = Number(args.pool);
const APIS = Number(args.apis);
const SECRET = 'whsec_bench_ingest';

const config = benchConfig('ingest', {
  WORKOS_WEBHOOK_SECRET: SECRET,
  PORT: '0',
  DATABASE_POOL_MAX: String(POOL),
});

/** The n-th synthetic event: a realistic `dsync.user.created`, unique id, one of ORGS orgs. */
function makeEvent(tag: string, n: number) {
  const org = `org_bench_${n % ORGS}`;
  const id = `event_bench_${tag}_${n.toString().padStart(9, '0')}`;
  const body = JSON.stringify({
    object: 'event',
    id,
    event: 'dsync.user.created',
    data: userData({
      id: `directory_user_${tag}_${n}`,
      org,
      directory: `directory_${org}`,
      updatedAt: Date.UTC(2026, 9, 1) + n,
    }),
    created_at: new Date().toISOString(),
  });
  return { id, org, body, signature: signWebhook(body, SECRET) };
}

/**
 * Events made and signed before a phase starts, so that the load generator spends
 * its CPU on load, not on building bodies; beyond `prepared` they are made on the fly.
 * Signatures stay valid: a phase is far shorter than the 3-minute tolerance.
 */
function eventSource(tag: string, prepared: number) {
  const ready = Array.from({ length: prepared }, (_, n) => makeEvent(tag, n));
  let n = 0;
  return () => {
    const event = ready[n] ?? makeEvent(tag, n);
    ready[n] = undefined as never;
    n += 1;
    return event;
  };
}

/** Enough events for `seconds` at `perSecond`. */
const enough = (seconds: number, perSecond = 5_000) => seconds * perSecond;

/** Phase 1: the naive limit, single-row inserts straight from Node. */
async function rawInserts(
  seconds: number,
  tag: string,
  warmup: number,
): Promise<{ rows: number; seconds: number }> {
  const pool = createPool(config, { poolMax: POOL, applicationName: 'bench-ingest-raw' });
  // Schema-qualified: connections have no search_path (DATABASE_URL may be a pooler).
  const insert = `insert into ${config.DATABASE_SCHEMA}.inbox
      (event_id, organization_id, event_type, occurred_at, source, payload, status)
    values ($1, $2, 'dsync.user.created', $3, 'webhook', $4, 'pending')
    on conflict (event_id) do nothing returning event_id`;
  const run = async (until: number, next: ReturnType<typeof eventSource>) => {
    let rows = 0;
    await Promise.all(
      Array.from({ length: POOL }, async () => {
        while (performance.now() < until) {
          const e = next();
          await pool.query(insert, [e.id, e.org, new Date(), e.body]);
          rows += 1;
        }
      }),
    );
    return rows;
  };
  try {
    if (warmup > 0) {
      await run(performance.now() + warmup * 1000, eventSource(`${tag}warm`, enough(warmup)));
    }
    const next = eventSource(tag, enough(seconds));
    const started = performance.now();
    const rows = await run(started + seconds * 1000, next);
    return { rows, seconds: (performance.now() - started) / 1000 };
  } finally {
    await pool.end();
  }
}

/** Phase 2: autocannon against the API process; also the ids answered 200. */
async function load(url: string, seconds: number, tag: string, connections = CONNECTIONS) {
  const next = eventSource(tag, enough(seconds));
  const accepted: string[] = [];
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/webhooks/workos',
        setupRequest: (request: Record<string, unknown>) => {
          const { id, body, signature } = next();
          return {
            ...request,
            body,
            headers: {
              'content-type': 'application/json',
              'workos-signature': signature,
              'x-request-id': id,
            },
          };
        },
        onResponse: (status, _body, _context, headers) => {
          const id = headers['x-request-id'];
          if (status === 200 && id) accepted.push(id);
        },
      },
    ],
  });
  return { result, accepted };
}

/** How many of `ids` are inbox rows. */
async function storedOf(db: Database, ids: string[]): Promise<number> {
  let found = 0;
  for (let i = 0; i < ids.length; i += 10_000) {
    const chunk = ids.slice(i, i + 10_000);
    const { rows } = await sql<{ n: string }>`
      select count(*) as n from ${sql.table('inbox')} where event_id = any(${chunk})`.execute(db);
    found += Number(rows[0]?.n ?? 0);
  }
  return found;
}

const count = async (db: Database) =>
  Number(
    (await sql<{ n: string }>`select count(*) as n from ${sql.table('inbox')}`.execute(db)).rows[0]
      ?.n ?? 0,
  );

async function cleanRedis(): Promise<void> {
  const redis = createRedis(config, 'worker');
  try {
    await deleteKeysWithPrefix(redis, config.REDIS_PREFIX);
  } finally {
    redis.disconnect();
  }
}

async function waitingTriggers(): Promise<number> {
  const redis = createRedis(config, 'worker');
  const queue = createDrainQueue(config, redis);
  try {
    return await queue.getJobCountByTypes('waiting', 'delayed', 'prioritized');
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

const db = await freshSchema(config);
await cleanRedis();
let api: Awaited<ReturnType<typeof startProcess>> | undefined;
try {
  report(
    `ingest: ${os.availableParallelism()} cores, ${DURATION} s per phase after ${WARMUP} s warm-up`,
  );
  report(`raw (first half): single-row inserts from Node over ${POOL} connections …`);
  const rawBefore = await rawInserts(DURATION / 2, 'rawa', WARMUP);
  report(`  ${round(rawBefore.rows / rawBefore.seconds, 0)} rows/s`);
  await sql`truncate ${sql.table('inbox')}`.execute(db);

  api = await startProcess('api/main.ts', config);
  const url = api.address!;
  report(`http: autocannon, ${CONNECTIONS} connections, ${ORGS} organizations, ${url} …`);
  const warm = await load(url, WARMUP, 'warm');
  await sql`truncate ${sql.table('inbox')}`.execute(db);
  const { result, accepted } = await load(url, DURATION, 'http');
  const ok = result['2xx'];
  const rate = ok / result.duration;
  const stored = await count(db);
  const acceptedStored = await storedOf(db, accepted);
  const triggered = await waitingTriggers();
  await stopProcess(api.child);
  report(
    `  ${ok} accepted (${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts)`,
  );
  report(`  requests/s: ${round(rate, 0)}`);
  report(
    `  latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`,
  );
  const everyOkStored = accepted.length === ok && acceptedStored === ok;
  report(
    `  rows stored: ${stored} (every 200 stored: ${everyOkStored}, ${acceptedStored} of ${accepted.length} ids looked up); drain triggers waiting: ${triggered}`,
  );
  const failed =
    result.non2xx + result.errors + result.timeouts + warm.result.non2xx + warm.result.errors;
  if (failed > 0 || !everyOkStored) {
    process.exitCode = 1;
    report(
      `  FAILED: ${failed} requests not answered 2xx (warm-up included), ${ok - acceptedStored} answers 200 not found stored`,
    );
  }

  // 3. The naive receiver, under the same load.
  await sql`truncate ${sql.table('inbox')}`.execute(db);
  const naiveProc = await startProcess('bench/naive-receiver.ts', config);
  report(
    `naive receiver: node:http + constructEvent + one insert per request, ${naiveProc.address} …`,
  );
  const naiveWarm = await load(naiveProc.address!, WARMUP, 'nwarm');
  await sql`truncate ${sql.table('inbox')}`.execute(db);
  const naive = await load(naiveProc.address!, DURATION, 'naive');
  await stopProcess(naiveProc.child);
  const naiveOk = naive.result['2xx'];
  const naiveRate = naiveOk / naive.result.duration;
  const naiveStored = await storedOf(db, naive.accepted);
  report(
    `  ${naiveOk} accepted (${naive.result.non2xx} non-2xx, ${naive.result.errors} errors, ${naive.result.timeouts} timeouts)`,
  );
  report(`  requests/s: ${round(naiveRate, 0)}`);
  report(
    `  latency p50 ${naive.result.latency.p50} ms, p99 ${naive.result.latency.p99} ms, max ${naive.result.latency.max} ms`,
  );
  report(`  every 200 stored: ${naiveStored === naiveOk} (${naiveStored} of ${naiveOk})`);
  if (naiveWarm.result.non2xx + naive.result.non2xx > 0)
    report('  (the naive receiver refused some requests)');
  report(`dirsync / naive receiver: ${round(rate / naiveRate, 2)}x`);

  // 4. Optional: several API processes on this host.
  let multi: { rate: number; p99: number; failed: number } | undefined;
  if (APIS > 1) {
    await sql`truncate ${sql.table('inbox')}`.execute(db);
    const procs = await Promise.all(
      Array.from({ length: APIS }, () => startProcess('api/main.ts', config)),
    );
    const per = Math.max(1, Math.floor(CONNECTIONS / APIS));
    report(`${APIS} API processes, ${per} connections each …`);
    const loadEach = (seconds: number, tag: string) =>
      Promise.all(procs.map((p, i) => load(p.address!, seconds, `${tag}${i}`, per)));
    await loadEach(WARMUP, 'mwarm');
    const runs = await loadEach(DURATION, 'multi');
    await Promise.all(procs.map((p) => stopProcess(p.child)));
    const okAll = runs.reduce((n, r) => n + r.result['2xx'], 0);
    const seconds = Math.max(...runs.map((r) => r.result.duration));
    multi = {
      rate: okAll / seconds,
      p99: Math.max(...runs.map((r) => r.result.latency.p99)),
      failed: runs.reduce((n, r) => n + r.result.non2xx + r.result.errors + r.result.timeouts, 0),
    };
    report(
      `  requests/s: ${round(multi.rate, 0)} (${round(multi.rate / rate, 2)}x one process), worst p99 ${multi.p99} ms, ${multi.failed} failed`,
    );
  }

  await sql`truncate ${sql.table('inbox')}`.execute(db);
  report('raw (second half) …');
  const rawAfter = await rawInserts(DURATION / 2, 'rawb', 0);
  report(`  ${round(rawAfter.rows / rawAfter.seconds, 0)} rows/s`);
  const rawRate = (rawBefore.rows + rawAfter.rows) / (rawBefore.seconds + rawAfter.seconds);
  report(`raw insert rate: ${round(rawRate, 0)} rows/s`);
  report(`ratio of requests/s to the raw insert rate: ${round(rate / rawRate, 3)}`);

  report(
    JSON.stringify({
      bench: 'ingest',
      cores: os.availableParallelism(),
      duration_s: DURATION,
      connections: CONNECTIONS,
      organizations: ORGS,
      pool: POOL,
      raw_insert_rows_per_s: round(rawRate, 0),
      raw_first_half_rows_per_s: round(rawBefore.rows / rawBefore.seconds, 0),
      raw_second_half_rows_per_s: round(rawAfter.rows / rawAfter.seconds, 0),
      http_requests_per_s: round(rate, 0),
      http_accepted: ok,
      http_non2xx: result.non2xx,
      http_errors: result.errors,
      http_timeouts: result.timeouts,
      latency_p50_ms: result.latency.p50,
      latency_p99_ms: result.latency.p99,
      latency_max_ms: result.latency.max,
      ratio_to_raw: round(rate / rawRate, 3),
      naive_requests_per_s: round(naiveRate, 0),
      naive_latency_p50_ms: naive.result.latency.p50,
      naive_latency_p99_ms: naive.result.latency.p99,
      naive_every_200_stored: naiveStored === naiveOk,
      ratio_to_naive: round(rate / naiveRate, 3),
      ...(multi && {
        apis: APIS,
        multi_requests_per_s: round(multi.rate, 0),
        multi_worst_p99_ms: multi.p99,
        multi_failed: multi.failed,
        multi_ratio_to_one: round(multi.rate / rate, 3),
      }),
      rows_stored: stored,
      every_200_stored: everyOkStored,
      drain_triggers_waiting: triggered,
    }),
  );
} finally {
  if (api) await stopProcess(api.child); // a no-op once stopped
  await cleanRedis();
  await dropSchema(db, config);
  await db.destroy();
}
