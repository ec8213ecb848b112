// npm run bench:scim — SCIM writes through the real API process (which applies each
// write with the organization's drain before answering), on real Postgres and Redis:
//  1. 16 concurrent clients across 50 directories (one organization each) create
//     20,000 users;
//  2. they create 200 groups, then add 20,000 members, one PATCH each (Okta's
//     `add` of `members`);
//  3. they deactivate 2,000 users holding a session (Okta's path-less PATCH); from
//     the request to the revocation message on Redis (published after the commit),
//     and every deactivated user's session must be revoked when its 200 arrives.
// Figures: writes/s per phase, p50/p99 latency per kind, deactivation → revoked
// p99. The last line is one JSON object.
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { createRedis } from '../common/redis.ts';
import { type RevocationMessage, sessionsRevokedKey } from '../common/revocation-message.ts';
import { createScimDirectory } from '../common/scim/directories.ts';
import {
  benchConfig,
  dropSchema,
  freshSchema,
  percentile,
  report,
  round,
  startProcess,
  stopProcess,
} from './support.ts';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '20000' },
    groups: { type: 'string', default: '200' },
    members: { type: 'string', default: '20000' },
    deactivations: { type: 'string', default: '2000' },
    clients: { type: 'string', default: '16' },
    directories: { type: 'string', default: '50' },
  },
});
const USERS = Number(args.users);
const GROUPS = Number(args.groups);
const MEMBERS = Number(args.members);
const DEACTIVATIONS = Number(args.deactivations);
const CLIENTS = Number(args.clients);
const DIRS = Number(args.directories);
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

interface Directory {
  id: string;
  org: string;
  token: string;
  users: string[];
  groups: string[];
}

/** Runs `count` tasks on `CLIENTS` concurrent loops; returns each task's latency (ms). */
async function phase(count: number, task: (i: number) => Promise<void>) {
  const latencies: number[] = new Array(count);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        const t0 = performance.now();
        await task(i);
        latencies[i] = performance.now() - t0;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { latencies, seconds, perSecond: count / seconds };
}

const config = benchConfig('scim', { PORT: '0' });
const db = await freshSchema(config);
const api = await startProcess('api/main.ts', config, { PORT: '0' });
// The worker's outbox relay publishes the revocation messages.
const worker = await startProcess('worker/main.ts', config);
const base = api.address!;
const subscriber = createRedis(config, 'producer');
const revokedAt = new Map<string, number>();
try {
  report(`bench:scim on ${availableParallelism()} cores: ${CLIENTS} clients, ${DIRS} directories`);
  const dirs: Directory[] = [];
  for (let d = 0; d < DIRS; d++) {
    const org = `org_scim_bench_${d}`;
    const created = await createScimDirectory(
      { db, config, apply: async () => {}, actor: { name: 'bench', via: 'cli' } },
      { organizationId: org },
    );
    dirs.push({ id: created.directoryId, org, token: created.token, users: [], groups: [] });
  }

  async function call(
    dir: Directory,
    method: string,
    path: string,
    body: unknown,
    expected: number,
  ) {
    const res = await fetch(`${base}/scim/v2/${dir.id}${path}`, {
      method,
      headers: { authorization: `Bearer ${dir.token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== expected)
      throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return text ? (JSON.parse(text) as { id: string }) : undefined;
  }

  report(`users: ${USERS} creates …`);
  const users = await phase(USERS, async (i) => {
    const dir = dirs[i % DIRS]!;
    const name = `user${i}@bench${i % DIRS}.example`;
    const created = await call(
      dir,
      'POST',
      '/Users',
      {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: name,
        name: { givenName: 'Bench', familyName: `User ${i}` },
        emails: [{ primary: true, value: name, type: 'work' }],
        externalId: `ext-${i}`,
        active: true,
      },
      201,
    );
    dir.users.push(created!.id);
  });
  report(
    `  ${round(users.perSecond, 0)} user writes/s; p50 ${round(percentile(users.latencies, 50))} ms, p99 ${round(percentile(users.latencies, 99))} ms`,
  );

  report(`groups: ${GROUPS} creates, then ${MEMBERS} member PATCH adds …`);
  const groups = await phase(GROUPS, async (i) => {
    const dir = dirs[i % DIRS]!;
    const created = await call(
      dir,
      'POST',
      '/Groups',
      { displayName: `Group ${i}`, members: [] },
      201,
    );
    dir.groups.push(created!.id);
  });
  const withGroups = Math.min(DIRS, GROUPS);
  const members = await phase(MEMBERS, async (i) => {
    const dir = dirs[i % withGroups]!;
    const k = Math.floor(i / withGroups);
    const group = dir.groups[k % dir.groups.length]!;
    const user = dir.users[k % dir.users.length]!;
    await call(
      dir,
      'PATCH',
      `/Groups/${group}`,
      {
        schemas: [PATCH_OP],
        Operations: [{ op: 'add', path: 'members', value: [{ value: user }] }],
      },
      200,
    );
  });
  report(
    `  groups p50 ${round(percentile(groups.latencies, 50))} ms; ${round(members.perSecond, 0)} member adds/s; p50 ${round(percentile(members.latencies, 50))} ms, p99 ${round(percentile(members.latencies, 99))} ms`,
  );

  // Each user to deactivate holds a session.
  const targets = Array.from({ length: DEACTIVATIONS }, (_, i) => {
    const dir = dirs[i % DIRS]!;
    return { dir, user: dir.users[Math.floor(i / DIRS) % dir.users.length]! };
  });
  const rows = await db
    .selectFrom('users')
    .select(['id', 'directory_user_id'])
    .where(
      'directory_user_id',
      'in',
      targets.map((t) => t.user),
    )
    .execute();
  const uuidOf = new Map(rows.map((r) => [r.directory_user_id, r.id]));
  for (let i = 0; i < rows.length; i += 1000) {
    await db
      .insertInto('sessions')
      .values(rows.slice(i, i + 1000).map((r) => ({ user_id: r.id })))
      .execute();
  }
  subscriber.on('message', (_channel, text) => {
    const message = JSON.parse(text) as RevocationMessage;
    if (!revokedAt.has(message.userId)) revokedAt.set(message.userId, performance.now());
  });
  await subscriber.subscribe(sessionsRevokedKey(config.REDIS_PREFIX));

  report(`deactivations: ${DEACTIVATIONS} …`);
  const sentAt = new Map<string, number>();
  let liveAtAnswer = 0;
  const deactivations = await phase(DEACTIVATIONS, async (i) => {
    const { dir, user } = targets[i]!;
    sentAt.set(uuidOf.get(user)!, performance.now());
    await call(
      dir,
      'PATCH',
      `/Users/${user}`,
      { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] },
      200,
    );
    // The guarantee: revoked before the answer (checked for a tenth, to keep the load honest).
    if (i % 10 === 0) {
      const live = await db
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', uuidOf.get(user)!)
        .where('revoked_at', 'is', null)
        .execute();
      liveAtAnswer += live.length;
    }
  });
  const toRevoked = [...sentAt].flatMap(([uuid, t0]) =>
    revokedAt.has(uuid) ? [revokedAt.get(uuid)! - t0] : [],
  );
  const stillLive = await db
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('revoked_at', 'is', null)
    .executeTakeFirstOrThrow();
  report(
    `  p50 ${round(percentile(deactivations.latencies, 50))} ms, p99 ${round(percentile(deactivations.latencies, 99))} ms (answer includes the revocation); request → revocation message p99 ${round(percentile(toRevoked, 99))} ms; ${toRevoked.length}/${DEACTIVATIONS} messages; live sessions left ${Number(stillLive.n)}, live at an answer ${liveAtAnswer}`,
  );

  const summary = {
    bench: 'scim',
    cores: availableParallelism(),
    clients: CLIENTS,
    directories: DIRS,
    user_creates: USERS,
    user_writes_per_s: round(users.perSecond, 0),
    user_create_p50_ms: round(percentile(users.latencies, 50)),
    user_create_p99_ms: round(percentile(users.latencies, 99)),
    group_creates: GROUPS,
    group_create_p50_ms: round(percentile(groups.latencies, 50)),
    group_create_p99_ms: round(percentile(groups.latencies, 99)),
    member_adds: MEMBERS,
    member_adds_per_s: round(members.perSecond, 0),
    member_add_p50_ms: round(percentile(members.latencies, 50)),
    member_add_p99_ms: round(percentile(members.latencies, 99)),
    deactivations: DEACTIVATIONS,
    deactivations_per_s: round(deactivations.perSecond, 0),
    deactivation_p50_ms: round(percentile(deactivations.latencies, 50)),
    deactivation_p99_ms: round(percentile(deactivations.latencies, 99)),
    deactivation_to_revoked_p99_ms: round(percentile(toRevoked, 99)),
    revocation_messages: toRevoked.length,
    live_sessions_left: Number(stillLive.n),
    live_sessions_at_answer: liveAtAnswer,
  };
  report(JSON.stringify(summary));
  if (Number(stillLive.n) > 0 || liveAtAnswer > 0) process.exitCode = 1;
} finally {
  subscriber.disconnect();
  await stopProcess(api.child);
  await stopProcess(worker.child);
  await dropSchema(db, config);
  await db.destroy();
}
