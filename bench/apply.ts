// npm run bench:apply — how fast the worker applies events, on real Postgres and Redis.
//  1. bulk: one organization's initial sync (50,000 users, 500 groups, 50,000
//     memberships), events/s, beside the raw rate of a batched upsert of the same rows;
//  2. fan-out: 200 organizations × 500 events at once, events/s;
//  3. time to revoke: while (1) runs, dsync.user.deleted for users of other
//     organizations is posted to the real webhook endpoint; from POST to the
//     revocation message (published after the commit, so the revocation is
//     visible), p50/p99, and from POST to the sessions' revoked_at (the revoking
//     transaction's time, a little before its commit); a user never revoked is a
//     failure (the run exits 1);
//     The example application (examples/session-app) caches those users' sessions
//     as valid beforehand: from POST to the app refusing them (its revocation
//     listener dropped them), p50/p99, and that time split into its stages
//     (revocation-stages.ts: API, queue + drain, commit + relay, Redis to the app);
//  4. the worker process's peak memory;
//  5. fan-out revocations: every fan-out user deprovisioned at once (one session
//     each): the rate the drains commit revocations, the outbox relay's throughput,
//     and its backlog over time (sampled every 100 ms, reported every second).
// The last line is one JSON object with every figure.
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { toInboxEvent } from '../common/inbox-row.ts';
import { createLogger } from '../common/logger.ts';
import { createRedis } from '../common/redis.ts';
import { openResources } from '../common/resources.ts';
import { parseRevocationMessage, sessionsRevokedKey } from '../common/revocation-message.ts';
import { triggerDrain, triggerDrains } from '../common/triggers.ts';
import type { Database } from '../db/database.ts';
import { insertEvents } from '../db/repositories/inbox.repository.ts';
import { revocationBacklog } from '../db/repositories/revocation-outbox.repository.ts';
import { initialSync, userDeleted } from '../test/support/directory.ts';
import type { WireEvent } from '../test/support/events.ts';
import { startRevocationProbe } from './revocation-probe.ts';
import { describeStages, revocationStages } from './revocation-stages.ts';
import {
  benchConfig,
  dropSchema,
  eventLoopDelay,
  freePort,
  freshSchema,
  memorySampler,
  peakMemoryMb,
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
    users: { type: 'string', default: '50000' },
    groups: { type: 'string', default: '500' },
    memberships: { type: 'string', default: '50000' },
    orgs: { type: 'string', default: '200' },
    'events-per-org': { type: 'string', default: '500' },
  },
});
const USERS = Number(args.users);
const GROUPS = Number(args.groups);
const MEMBERSHIPS = Number(args.memberships);
const ORGS = Number(args.orgs);
const PER_ORG = Number(args['events-per-org']);
const SECRET = 'whsec_bench_apply';
const REVOKE_ORGS = 10;
const REVOKE_USERS = 40;

const config = benchConfig('apply', { WORKOS_WEBHOOK_SECRET: SECRET, PORT: '0' });
const logger = createLogger({ LOG_LEVEL: 'silent' });

async function store(db: Database, events: readonly WireEvent[]) {
  for (let i = 0; i < events.length; i += 1000) {
    await insertEvents(
      db,
      events.slice(i, i + 1000).map((e) => {
        const converted = toInboxEvent(e, 'webhook');
        if (!converted.ok) throw new Error(converted.error);
        return converted.row;
      }),
    );
  }
}

const pending = async (db: Database) =>
  Number(
    (
      await sql<{
        n: number;
      }>`select count(*)::int as n from ${sql.table('inbox')} where status = 'pending'`.execute(db)
    ).rows[0]!.n,
  );

/** The limit: the same rows written by batched upserts, 1,000 a statement, no logic. */
async function rawUpsertRate(
  events: readonly WireEvent[],
): Promise<{ rows: number; seconds: number }> {
  const raw = benchConfig('apply_raw');
  const db = await freshSchema(raw);
  try {
    const users = new Map<string, ReturnType<typeof toUser>>();
    const groups = new Map<string, ReturnType<typeof toGroup>>();
    const memberships: Array<{ group: string; user: string; at: Date; id: string }> = [];
    const now = new Date();
    function toUser(d: Record<string, unknown>, e: WireEvent) {
      return {
        id: crypto.randomUUID(),
        directory_user_id: d.id as string,
        organization_id: d.organization_id as string,
        directory_id: d.directory_id as string,
        idp_id: d.idp_id as string,
        email: d.email as string,
        first_name: d.first_name as string,
        last_name: d.last_name as string,
        state: d.state as string,
        role: 'member',
        roles: ['member'],
        custom_attributes: JSON.stringify(d.custom_attributes),
        source_updated_at: new Date(d.updated_at as string),
        source_event_at: new Date(e.created_at),
        source_event_id: e.id,
        memberships_ended_at: null,
        memberships_ended_by: null,
        deleted_at: null,
      };
    }
    function toGroup(d: Record<string, unknown>, e: WireEvent) {
      return {
        id: crypto.randomUUID(),
        directory_group_id: d.id as string,
        organization_id: d.organization_id as string,
        directory_id: d.directory_id as string,
        idp_id: d.idp_id as string,
        name: d.name as string,
        source_updated_at: new Date(d.updated_at as string),
        source_event_at: new Date(e.created_at),
        source_event_id: e.id,
        deleted_at: null,
      };
    }
    for (const e of events) {
      if (e.event === 'dsync.user.created') users.set(e.data.id as string, toUser(e.data, e));
      if (e.event === 'dsync.group.created') groups.set(e.data.id as string, toGroup(e.data, e));
    }
    for (const e of events) {
      if (e.event !== 'dsync.group.user_added') continue;
      const d = e.data as { user: { id: string }; group: { id: string } };
      memberships.push({
        group: groups.get(d.group.id)!.id,
        user: users.get(d.user.id)!.id,
        at: now,
        id: e.id,
      });
    }
    const started = performance.now();
    const userRows = [...users.values()];
    // biome-ignore format: the formatter alternates between two layouts of this loop
    for (let i = 0; i < userRows.length; i += 1000) {
      await db
        .insertInto('users')
        .values(userRows.slice(i, i + 1000))
        .onConflict((oc) =>
          oc.column('directory_user_id').doUpdateSet((eb) => ({
            email: eb.ref('excluded.email'),
            state: eb.ref('excluded.state'),
          })),
        )
        .execute();
    }
    await db
      .insertInto('groups')
      .values([...groups.values()])
      .onConflict((oc) =>
        oc.column('directory_group_id').doUpdateSet((eb) => ({ name: eb.ref('excluded.name') })),
      )
      .execute();
    for (let i = 0; i < memberships.length; i += 1000) {
      await db
        .insertInto('group_memberships')
        .values(
          memberships.slice(i, i + 1000).map((m) => ({
            group_id: m.group,
            user_id: m.user,
            organization_id: 'org_bulk',
            source_event_at: m.at,
            source_event_id: m.id,
            removed_at: null,
          })),
        )
        .onConflict((oc) =>
          oc
            .columns(['group_id', 'user_id'])
            .doUpdateSet((eb) => ({ removed_at: eb.ref('excluded.removed_at') })),
        )
        .execute();
    }
    const seconds = (performance.now() - started) / 1000;
    return { rows: users.size + groups.size + memberships.length, seconds };
  } finally {
    await dropSchema(db, raw);
    await db.destroy();
  }
}

/**
 * Every fan-out user (already applied) gets a session, then is deprovisioned, all
 * organizations at once: the relay's throughput, and whether its backlog keeps up
 * with the drains (sampled every 100 ms).
 */
async function fanOutRevocations(
  db: Database,
  drainQueue: Parameters<typeof triggerDrains>[0],
  orgs: readonly string[],
) {
  const users = await db
    .selectFrom('users')
    .select(['id', 'directory_user_id', 'organization_id'])
    .where('organization_id', 'like', 'org_fan_%')
    .execute();
  await sql`insert into ${sql.table('sessions')} (user_id) select id from ${sql.table('users')} where organization_id like 'org_fan_%'`.execute(
    db,
  );
  report(
    `fan-out revocations: deprovisioning ${users.length} users of ${orgs.length} organizations …`,
  );
  const prefix = (org: string) => `directory_user_${org}_`;
  const t0 = Date.UTC(2026, 11, 1);
  await store(
    db,
    users.map((u) =>
      userDeleted(
        u.organization_id,
        Number(u.directory_user_id.slice(prefix(u.organization_id).length)),
        t0,
      ),
    ),
  );
  let maxBacklog = 0;
  let backlogAtDrainEnd = 0;
  let sampling = true;
  // [seconds since the trigger, unsent rows], one a second (the max of its samples).
  const series: Array<[number, number]> = [];
  const started = performance.now();
  const sampler = (async () => {
    while (sampling) {
      const unsent = (await revocationBacklog(db)).unsent;
      maxBacklog = Math.max(maxBacklog, unsent);
      const second = Math.floor((performance.now() - started) / 1000);
      const last = series.at(-1);
      if (last?.[0] === second) last[1] = Math.max(last[1], unsent);
      else series.push([second, unsent]);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await triggerDrains(drainQueue, orgs);
  await waitFor(async () => (await pending(db)) === 0, 600_000, 50);
  const drainSeconds = (performance.now() - started) / 1000;
  backlogAtDrainEnd = (await revocationBacklog(db)).unsent;
  const drained = performance.now();
  await waitFor(async () => (await revocationBacklog(db)).unsent === 0, 600_000, 20);
  const relaySeconds = (performance.now() - started) / 1000;
  const emptyAfterMs = performance.now() - drained;
  sampling = false;
  await sampler;
  const revocations = Number(
    (
      await sql<{
        n: number;
      }>`select count(*)::int as n from ${sql.table('revocation_outbox')} where organization_id like 'org_fan_%'`.execute(
        db,
      )
    ).rows[0]!.n,
  );
  // The relay alone: messages over the time between its first and last mark.
  const span = (
    await sql<{ first: Date | null; last: Date | null }>`
      select min(sent_at) as first, max(sent_at) as last from ${sql.table('revocation_outbox')}
      where organization_id like 'org_fan_%'`.execute(db)
  ).rows[0]!;
  const sendingSeconds =
    span.first && span.last ? (span.last.getTime() - span.first.getTime()) / 1000 : Number.NaN;
  return {
    revocations,
    drainSeconds,
    producedPerSecond: revocations / drainSeconds,
    relaySeconds,
    relayPerSecond: revocations / relaySeconds,
    sendingPerSecond: revocations / sendingSeconds,
    maxBacklog,
    backlogAtDrainEnd,
    emptyAfterMs,
    series,
  };
}

async function main() {
  const db = await freshSchema(config);
  const resources = openResources(config, logger);
  const cleanRedis = createRedis(config, 'worker');
  const keys = await cleanRedis.keys(`${config.REDIS_PREFIX}:*`);
  if (keys.length > 0) await cleanRedis.del(...keys);

  const bulk = initialSync({
    org: 'org_bulk',
    users: USERS,
    groups: GROUPS,
    memberships: MEMBERSHIPS,
  });
  report(`raw batched upsert of the same ${USERS + GROUPS + MEMBERSHIPS} rows …`);
  const raw = await rawUpsertRate(bulk);
  const rawRate = raw.rows / raw.seconds;
  report(`  raw upsert: ${round(rawRate, 0)} rows/s (${round(raw.seconds, 2)} s)`);

  // Its /metrics (event-loop delay) on a port of its own.
  const worker = await startProcess('worker/main.ts', config, {
    WORKER_METRICS_PORT: String(await freePort()),
  });
  const api = await startProcess('api/main.ts', config);
  const workerMemory = memorySampler(worker.child.pid!);
  const subscriber = createRedis(config, 'subscriber');
  let probe: Awaited<ReturnType<typeof startRevocationProbe>> | undefined;
  try {
    // Organizations whose users get deprovisioned during the bulk sync, each user with sessions.
    const revokeOrgs = Array.from({ length: REVOKE_ORGS }, (_, i) => `org_live_${i}`);
    for (const org of revokeOrgs) await store(db, initialSync({ org, users: REVOKE_USERS }));
    await triggerDrains(resources.drainQueue, revokeOrgs);
    await waitFor(async () => (await pending(db)) === 0, 60_000);
    await sql`insert into ${sql.table('sessions')} (user_id) select id from ${sql.table('users')} cross join generate_series(1, 2)`.execute(
      db,
    );
    const userIds = new Map(
      (await db.selectFrom('users').select(['id', 'directory_user_id']).execute()).map((u) => [
        u.directory_user_id,
        u.id,
      ]),
    );
    const sessionsByUser = new Map<string, string[]>();
    for (const s of await db.selectFrom('sessions').select(['id', 'user_id']).execute())
      sessionsByUser.set(s.user_id, [...(sessionsByUser.get(s.user_id) ?? []), s.id]);
    probe = await startRevocationProbe(config, db, sessionsByUser);

    report(`bulk: storing ${bulk.length} events of one organization …`);
    await store(db, bulk);
    workerMemory.reset();

    const revokedAt = new Map<string, number>();
    await subscriber.subscribe(sessionsRevokedKey(config.REDIS_PREFIX));
    subscriber.on('message', (_channel, message) => {
      const m = parseRevocationMessage(message);
      if (!revokedAt.has(m.userId)) revokedAt.set(m.userId, performance.now());
    });

    const posted = new Map<string, number>();
    const postedWall = new Map<string, number>();
    const statuses: number[] = [];
    let bulkDone = false;
    await eventLoopDelay(worker.metricsAddress); // resets the worker's delay histogram
    const started = performance.now();
    await triggerDrain(resources.drainQueue, 'org_bulk');
    const poster = (async () => {
      let n = 0;
      while (!bulkDone && n < REVOKE_ORGS * REVOKE_USERS) {
        const org = revokeOrgs[n % REVOKE_ORGS]!;
        const index = Math.floor(n / REVOKE_ORGS);
        n += 1;
        const event = userDeleted(org, index, Date.UTC(2026, 10, 1) + n);
        const body = JSON.stringify(event);
        const userId = userIds.get(`directory_user_${org}_${index}`)!;
        const t = performance.now();
        posted.set(userId, t);
        postedWall.set(userId, Date.now());
        const response = await fetch(`${api.address}/webhooks/workos`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'workos-signature': signWebhook(body, SECRET),
          },
          body,
        });
        statuses.push(response.status);
        await response.arrayBuffer();
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await waitFor(async () => (await pending(db)) === 0, 600_000, 100);
    const bulkSeconds = (performance.now() - started) / 1000;
    // How long the worker's one event loop stalled meanwhile: every drain, BullMQ
    // and the relay wait behind it.
    const bulkLoop = await eventLoopDelay(worker.metricsAddress).catch(() => null);
    bulkDone = true;
    await poster;
    await waitFor(async () => [...posted.keys()].every((id) => revokedAt.has(id)), 10_000).catch(
      () => {},
    );
    const latencies = [...posted].flatMap(([id, t]) =>
      revokedAt.has(id) ? [revokedAt.get(id)! - t] : [],
    );
    const missing = posted.size - latencies.length;
    await waitFor(
      async () => [...posted.keys()].every((id) => probe!.dropped.has(id)),
      10_000,
    ).catch(() => {});
    const toRefused = [...posted].flatMap(([id, t]) =>
      probe!.dropped.has(id) ? [probe!.dropped.get(id)! - t] : [],
    );
    const refusedCount = await probe.refused(posted.keys());
    const droppedWall = new Map(
      [...probe.dropped].map(([id, t]) => [id, performance.timeOrigin + t] as const),
    );
    const stages = await revocationStages(db, postedWall, droppedWall);
    const revokedRows =
      postedWall.size === 0
        ? []
        : await db
            .selectFrom('sessions')
            .select(['user_id', (eb) => eb.fn.min('revoked_at').as('at')])
            .where('user_id', 'in', [...postedWall.keys()])
            .groupBy('user_id')
            .execute();
    const toRevokedAt = revokedRows.flatMap((r) =>
      r.at ? [new Date(r.at as Date).getTime() - postedWall.get(r.user_id)!] : [],
    );
    const maxOf = (xs: number[]) => (xs.length > 0 ? Math.max(...xs) : null);
    const bulkRate = bulk.length / bulkSeconds;
    const bulkMemory = workerMemory.peak();
    report(
      `  bulk: ${bulk.length} events in ${round(bulkSeconds, 2)} s = ${round(bulkRate, 0)} events/s`,
    );
    report(`  bulk / raw upsert rate: ${round(bulkRate / rawRate, 3)}`);
    report(
      `  time to revoke under load (POST → message after commit): ${latencies.length}/${posted.size} revoked, p50 ${round(percentile(latencies, 50))} ms, p99 ${round(percentile(latencies, 99))} ms, max ${maxOf(latencies) === null ? '-' : round(maxOf(latencies)!)} ms (webhook statuses: ${[...new Set(statuses)].join(',')})`,
    );
    report(
      `  POST → revoked_at: p50 ${round(percentile(toRevokedAt, 50))} ms, p99 ${round(percentile(toRevokedAt, 99))} ms`,
    );
    report(
      `  POST → example app refuses the session: ${toRefused.length}/${posted.size} dropped, p50 ${round(percentile(toRefused, 50))} ms, p99 ${round(percentile(toRefused, 99))} ms, max ${maxOf(toRefused) === null ? '-' : round(maxOf(toRefused)!)} ms; refused on GET /me afterwards: ${refusedCount}/${posted.size}`,
    );
    report(`  of which, p50/p99 ms: ${describeStages(stages)} (${stages.samples} users)`);
    report(
      `  worker event-loop delay during bulk: max ${bulkLoop?.maxMs ?? '-'} ms, p99 ${bulkLoop?.p99Ms ?? '-'} ms`,
    );
    if (missing > 0) report(`  FAILED: ${missing} deprovisioned users were never revoked`);
    if (refusedCount < posted.size)
      report(`  FAILED: ${posted.size - refusedCount} sessions still accepted by the example app`);

    const fanOrgs = Array.from({ length: ORGS }, (_, i) => `org_fan_${i}`);
    report(`fan-out: storing ${ORGS} × ${PER_ORG} events …`);
    const fanEvents = fanOrgs.flatMap((org) => initialSync({ org, users: PER_ORG - 1 }));
    await store(db, fanEvents);
    workerMemory.reset();
    const fanStarted = performance.now();
    await triggerDrains(resources.drainQueue, fanOrgs);
    await waitFor(async () => (await pending(db)) === 0, 600_000, 100);
    const fanSeconds = (performance.now() - fanStarted) / 1000;
    const fanRate = fanEvents.length / fanSeconds;
    const fanMemory = workerMemory.peak();
    report(
      `  fan-out: ${fanEvents.length} events in ${round(fanSeconds, 2)} s = ${round(fanRate, 0)} events/s`,
    );

    const fanout = await fanOutRevocations(db, resources.drainQueue, fanOrgs);
    report(
      `  fan-out revocations: ${fanout.revocations} users in ${round(fanout.drainSeconds, 2)} s of drains (${round(fanout.producedPerSecond, 0)} revocations/s committed), relayed in ${round(fanout.relaySeconds, 2)} s = ${round(fanout.relayPerSecond, 0)} messages/s (${round(fanout.sendingPerSecond, 0)}/s from the relay's first send to its last); backlog max ${fanout.maxBacklog}, at the drains' end ${fanout.backlogAtDrainEnd}, empty ${round(fanout.emptyAfterMs, 0)} ms after them`,
    );
    report(
      `  relay backlog by second [s, unsent]: ${fanout.series.map(([t, n]) => `${t}:${n}`).join(' ')}`,
    );

    const memory = peakMemoryMb(worker.child.pid!);
    report(
      `  worker peak memory (VmHWM): ${memory} MB; peak RSS during bulk ${bulkMemory} MB, during fan-out ${fanMemory} MB`,
    );

    const summary = {
      bench: 'apply',
      cores: (await import('node:os')).availableParallelism(),
      raw_upsert_rows_per_s: round(rawRate, 0),
      bulk_events: bulk.length,
      bulk_seconds: round(bulkSeconds, 2),
      bulk_events_per_s: round(bulkRate, 0),
      bulk_to_raw_ratio: round(bulkRate / rawRate, 3),
      revoke_samples: latencies.length,
      revoke_posted: posted.size,
      revoke_p50_ms: round(percentile(latencies, 50)),
      revoke_p99_ms: round(percentile(latencies, 99)),
      revoke_max_ms: maxOf(latencies) === null ? null : round(maxOf(latencies)!),
      revoke_missing: missing,
      revoked_at_p50_ms: round(percentile(toRevokedAt, 50)),
      revoked_at_p99_ms: round(percentile(toRevokedAt, 99)),
      app_refuses_samples: toRefused.length,
      app_refuses_p50_ms: round(percentile(toRefused, 50)),
      app_refuses_p99_ms: round(percentile(toRefused, 99)),
      app_refuses_max_ms: maxOf(toRefused) === null ? null : round(maxOf(toRefused)!),
      app_refused_after: refusedCount,
      app_refuses_stage_samples: stages.samples,
      app_refuses_stages_p50_ms: stages.p50,
      app_refuses_stages_p99_ms: stages.p99,
      worker_event_loop_delay_bulk_max_ms: bulkLoop?.maxMs ?? null,
      worker_event_loop_delay_bulk_p99_ms: bulkLoop?.p99Ms ?? null,
      relay_revocations: fanout.revocations,
      relay_drain_seconds: round(fanout.drainSeconds, 2),
      relay_produced_per_s: round(fanout.producedPerSecond, 0),
      relay_sending_messages_per_s: round(fanout.sendingPerSecond, 0),
      relay_backlog_series: fanout.series,
      relay_seconds: round(fanout.relaySeconds, 2),
      relay_messages_per_s: round(fanout.relayPerSecond, 0),
      relay_backlog_max: fanout.maxBacklog,
      relay_backlog_at_drain_end: fanout.backlogAtDrainEnd,
      relay_empty_after_drains_ms: round(fanout.emptyAfterMs, 0),
      fanout_orgs: ORGS,
      fanout_events: fanEvents.length,
      fanout_seconds: round(fanSeconds, 2),
      fanout_events_per_s: round(fanRate, 0),
      worker_peak_memory_mb: memory,
      worker_peak_rss_bulk_mb: bulkMemory,
      worker_peak_rss_fanout_mb: fanMemory,
    };
    report(JSON.stringify(summary));
    if (missing > 0 || refusedCount < posted.size || statuses.some((s) => s !== 200))
      process.exitCode = 1;
  } finally {
    await probe?.close();
    await subscriber.quit().catch(() => {});
    workerMemory.stop();
    await stopProcess(api.child);
    await stopProcess(worker.child);
    const left = await cleanRedis.keys(`${config.REDIS_PREFIX}:*`);
    if (left.length > 0) await cleanRedis.del(...left);
    cleanRedis.disconnect();
    await resources.close();
    await dropSchema(db, config);
    await db.destroy();
  }
}

await main();
