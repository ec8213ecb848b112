// Several processes on one host, as the README runs them: two API processes and
// three workers (no port of their own), under a stream of webhooks sent to either
// API. One worker is SIGKILLed mid-stream and one API is restarted; a delivery that
// fails is sent again to the other API, as a load balancer and WorkOS's retries do.
// Every 200 is a stored row, every event is applied once, and the tables end in the
// state of in-order delivery.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { useTestContext } from './support/context.ts';
import { directoryData, eventId, userData, type WireEvent, wireEvent } from './support/events.ts';
import { signatureHeader } from './support/webhooks.ts';
import { waitFor } from './support/workos.ts';

const ctx = useTestContext('scale_processes');
const children = new Set<ChildProcess>();

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
});

interface Proc {
  child: ChildProcess;
  /** The API's address, from its start-up line. */
  started: Promise<string | undefined>;
}

function start(entry: 'api/main.ts' | 'worker/main.ts'): Proc {
  const child = spawn(process.execPath, [entry], {
    env: {
      ...process.env,
      ...ctx.env(),
      MIGRATE_ON_START: 'false',
      PORT: '0',
      LOG_LEVEL: 'info',
      WORKOS_WEBHOOK_SECRET: 'whsec_test_primary',
      WORKOS_API_KEY: '',
      DRAIN_BATCH_SIZE: '20',
      DRAIN_JOB_LOCK_MS: '1500',
      SWEEP_INTERVAL_MS: '1000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  const started = new Promise<string | undefined>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { msg?: string; address?: string };
        if (parsed.msg === 'dirsync started') resolve(parsed.address);
      } catch {}
    });
    child.once('exit', (code) => reject(new Error(`${entry} exited (${code}) before starting`)));
  });
  started.catch(() => {});
  return { child, started };
}

async function stop(proc: Proc, signal: NodeJS.Signals): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill(signal);
  await once(proc.child, 'exit');
}

const ORGS = 12;
const USERS = 8;
const ROUNDS = 3;

/** Each organization: its directory, users created, updated ROUNDS times, user 0 deleted. */
function history(org: string): WireEvent[] {
  const directory = `directory_${org}`;
  let t = Date.UTC(2026, 9, 1);
  const events = [
    wireEvent(
      'dsync.activated',
      directoryData({ id: directory, org, updatedAt: t }),
      t,
      eventId(`event_${org}`),
    ),
  ];
  const user = (
    i: number,
    extra: Parameters<typeof userData>[0] extends infer U ? Partial<U> : never,
  ) =>
    userData({ id: `directory_user_${org}_${i}`, org, directory, updatedAt: 1_000 + i, ...extra });
  for (let i = 0; i < USERS; i++) {
    events.push(wireEvent('dsync.user.created', user(i, {}), ++t, eventId(`event_${org}`)));
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < USERS; i++) {
      const data = user(i, { lastName: `v${round}`, updatedAt: 2_000 + round * 100 + i });
      events.push(wireEvent('dsync.user.updated', data, ++t, eventId(`event_${org}`)));
    }
  }
  const gone = user(0, { state: 'inactive', lastName: `v${ROUNDS - 1}`, updatedAt: 9_000 });
  events.push(wireEvent('dsync.user.deleted', gone, ++t, eventId(`event_${org}`)));
  return events;
}

describe('two APIs and three workers', () => {
  it('lose nothing and apply everything once through a worker SIGKILL and an API restart', {
    timeout: 240_000,
  }, async () => {
    const apis = [start('api/main.ts'), start('api/main.ts')];
    const workers = [start('worker/main.ts'), start('worker/main.ts'), start('worker/main.ts')];
    const addresses = (await Promise.all(apis.map((a) => a.started))) as string[];
    await Promise.all(workers.map((w) => w.started));

    const orgs = Array.from({ length: ORGS }, (_, i) => `org_scale_${i}`);
    const perOrg = orgs.map(history);
    const total = perOrg.reduce((n, events) => n + events.length, 0);
    const answered200 = new Set<string>();
    let sent = 0;
    let failedAttempts = 0;

    // One delivery: to one API, then the other until a 200 (a restart may refuse it).
    const deliver = async (event: WireEvent, first: number) => {
      const body = JSON.stringify(event);
      for (let attempt = 0; attempt < 200; attempt++) {
        const address = addresses[(first + attempt) % addresses.length]!;
        try {
          const res = await fetch(`${address}/webhooks/workos`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'workos-signature': await signatureHeader(body),
            },
            body,
          });
          await res.arrayBuffer();
          if (res.status === 200) {
            answered200.add(event.id);
            return;
          }
        } catch {}
        failedAttempts++;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`${event.id} was never accepted`);
    };

    let faults: Promise<void> | undefined;
    const injectFaults = async () => {
      // A worker dies without a word (open transaction, active jobs, held locks).
      await stop(workers[0]!, 'SIGKILL');
      // An API restarts: stops (503 while closing, then refused), comes back elsewhere.
      await stop(apis[0]!, 'SIGTERM');
      apis[0] = start('api/main.ts');
      addresses[0] = (await apis[0].started)!;
    };
    // Each organization's events in order; organizations in parallel.
    await Promise.all(
      perOrg.map(async (events, o) => {
        for (const event of events) {
          await deliver(event, o);
          sent++;
          if (sent === Math.floor(total / 3)) faults = injectFaults();
        }
      }),
    );
    await faults;

    expect(answered200.size).toBe(total);
    // Every 200 is a stored row.
    const stored = await ctx.db.selectFrom('inbox').select(['event_id', 'status']).execute();
    const storedIds = new Set(stored.map((r) => r.event_id));
    expect([...answered200].filter((id) => !storedIds.has(id))).toEqual([]);

    await waitFor(
      'every event applied',
      async () => {
        const left = await ctx.db
          .selectFrom('inbox')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('status', '!=', 'applied')
          .executeTakeFirstOrThrow();
        return Number(left.n) === 0;
      },
      120_000,
    );

    // Applied once: one audit row per change, never two for one event and subject.
    const twice = await ctx.db
      .selectFrom('audit_log')
      .select(['event_id', 'action', 'subject_id'])
      .groupBy(['event_id', 'action', 'subject_id'])
      .having((eb) => eb.fn.countAll(), '>', 1)
      .execute();
    expect(twice).toEqual([]);
    const provisioned = await ctx.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('action', '=', 'user_provisioned')
      .executeTakeFirstOrThrow();
    expect(Number(provisioned.n)).toBe(ORGS * USERS);

    // The in-order state: every user at the last round, user 0 of each deprovisioned.
    const users = await ctx.db
      .selectFrom('users')
      .select(['directory_user_id', 'last_name', 'state'])
      .execute();
    expect(users).toHaveLength(ORGS * USERS);
    for (const u of users) {
      const first = u.directory_user_id.endsWith('_0');
      expect(u.state, u.directory_user_id).toBe(first ? 'inactive' : 'active');
      if (!first) expect(u.last_name, u.directory_user_id).toBe(`v${ROUNDS - 1}`);
    }
    process.stderr.write(`scale test: ${total} events, ${failedAttempts} deliveries retried\n`);

    await Promise.all([...apis, ...workers].map((p) => stop(p, 'SIGTERM')));
  });
});
