// The operator commands run as an operator runs them: the real bin/dirsync in a
// child process, against this file's schema and Redis prefix.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { describe, expect, it, vi } from 'vitest';
import { QUEUES } from '../common/queues.ts';
import { findEvent } from '../db/repositories/inbox.repository.ts';
import { useTestContext } from './support/context.ts';
import { DEAD_ERROR, seedOperatorWorld } from './support/operator-fixtures.ts';
import { findOrganization } from './support/organizations.ts';

const ctx = useTestContext('cli_operator');
// Each command is a Node.js start-up: about a second on a busy CI machine, but tens
// of seconds on a machine shared by several test suites; the limits leave room.
vi.setConfig({ testTimeout: 600_000 });
const bin = fileURLToPath(new URL('../bin/dirsync', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function dirsync(args: string[], env: Record<string, string> = {}, command = bin): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd: tmpdir(),
        timeout: 120_000,
        env: {
          PATH: process.env.PATH ?? '',
          ...ctx.env(),
          LOG_LEVEL: 'silent',
          ...env,
        },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const json = <T>(run: Run): T => {
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as T;
};

/** [action, actor, via] of the organization's operator audit rows, oldest first. */
async function operatorAudit(organizationId: string) {
  const rows = await ctx.db
    .selectFrom('audit_log')
    .select(['action', 'detail'])
    .where('organization_id', '=', organizationId)
    .where('event_id', 'like', 'operator\\_%')
    .orderBy('id')
    .execute();
  return rows.map((r) => [r.action, r.detail.actor, r.detail.via]);
}

async function waitingDrains(): Promise<string[]> {
  const redis = ctx.redis();
  const queue = ctx.track(
    'queue',
    new Queue(QUEUES.drain, { connection: redis, prefix: ctx.config.REDIS_PREFIX }),
  );
  try {
    const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized']);
    return jobs.map((j) => (j.data as { organizationId: string }).organizationId);
  } finally {
    await queue.close();
    await redis.quit();
  }
}

describe('dirsync status', () => {
  it('prints every organization, JSON for scripts and a table for people', async () => {
    const w = await seedOperatorWorld(ctx.db, 'status');
    const { organizations } = json<{ organizations: Array<Record<string, unknown>> }>(
      await dirsync(['status', '--json']),
    );
    expect(organizations.find((o) => o.organizationId === w.failing)).toMatchObject({
      state: 'dead_events',
      dead: 1,
      pending: 0,
    });
    expect(organizations.find((o) => o.organizationId === w.paused)).toMatchObject({
      state: 'paused',
      paused: true,
      pending: 2,
    });
    expect(organizations.find((o) => o.organizationId === w.healthy)).toMatchObject({
      state: 'in_sync',
      activeSeats: 2,
    });

    const text = await dirsync(['status', '--org', w.paused]);
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(/^ORGANIZATION\s+STATE\s+SEATS\s+PENDING\s+OLDEST PENDING\s+DEAD/);
    expect(lines[1]).toMatch(new RegExp(`^${w.paused}\\s+paused\\s+0\\s+2\\s+10m`));
    expect(text.stdout).toContain('1 organizations');
  });

  it('exits 2 with a clear message for an unknown organization', async () => {
    const run = await dirsync(['status', '--org', 'org_nobody']);
    expect(run).toEqual({
      code: 2,
      stdout: '',
      stderr: 'dirsync: unknown organization org_nobody\n',
    });
  });
});

describe('dirsync dead list', () => {
  it('lists dead events with their errors', async () => {
    const w = await seedOperatorWorld(ctx.db, 'dead');
    const { events } = json<{ events: Array<Record<string, unknown>> }>(
      await dirsync(['dead', 'list', '--org', w.failing, '--json']),
    );
    expect(events).toEqual([
      expect.objectContaining({ eventId: w.failingEventId, lastError: DEAD_ERROR, attempts: 5 }),
    ]);
    const text = await dirsync(['dead', 'list', '--org', w.failing]);
    expect(text.stdout).toMatch(
      new RegExp(
        `^${w.failingEventId}\\s+${w.failing}\\s+dsync.user.updated\\s+\\S+\\s+5\\s+${DEAD_ERROR}$`,
        'm',
      ),
    );
    const unknown = await dirsync(['dead', 'list', '--org', 'org_nobody']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('dirsync: unknown organization org_nobody\n');
  });
});

describe('dirsync replay', () => {
  it('replays one event and triggers its organization', async () => {
    const w = await seedOperatorWorld(ctx.db, 'replay1');
    const r = json<Record<string, unknown>>(await dirsync(['replay', w.failingEventId, '--json']));
    expect(r).toMatchObject({ eventId: w.failingEventId, previousStatus: 'dead', triggered: true });
    expect(await findEvent(ctx.db, w.failingEventId)).toMatchObject({ status: 'pending' });
    expect(await waitingDrains()).toContain(w.failing);
  });

  it('replays every dead event of an organization', async () => {
    const w = await seedOperatorWorld(ctx.db, 'replayall');
    const run = await dirsync(['replay', '--org', w.failing, '--dead']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      `replayed 1 dead events of ${w.failing}; drain triggered\n  ${w.failingEventId}\n`,
    );
    const again = await dirsync(['replay', '--org', w.failing, '--dead', '--json']);
    expect(json(again)).toEqual({
      organizationId: w.failing,
      eventIds: [],
      triggered: false,
      paused: false,
    });
  });

  it('exits 2 for unknown or ignored events, unknown organizations and missing arguments', async () => {
    const w = await seedOperatorWorld(ctx.db, 'replaybad');
    const cases: Array<[string[], RegExp]> = [
      [['replay', 'event_nobody'], /^dirsync: unknown event event_nobody\n$/],
      [['replay', w.ignoredEventId], /was ignored; there is nothing to replay/],
      [['replay', '--org', 'org_nobody', '--dead'], /^dirsync: unknown organization org_nobody\n$/],
      [['replay'], /give an event id, or --org <id> --dead/],
      [['replay', '--org', w.failing], /give an event id, or --org <id> --dead/],
      [['replay', w.failingEventId, '--org', w.failing, '--dead'], /not both/],
    ];
    for (const [args, stderr] of cases) {
      const run = await dirsync(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(stderr);
      expect(run.stdout).toBe('');
    }
    expect(await findEvent(ctx.db, w.failingEventId)).toMatchObject({ status: 'dead' });
  });

  it('still replays when Redis is down, and says the sweeper will trigger the drain', async () => {
    const w = await seedOperatorWorld(ctx.db, 'replaynoredis');
    const run = await dirsync(['replay', w.failingEventId], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('drain not triggered (the sweeper will pick it up)');
    expect(run.stderr).toMatch(/^warning: could not trigger a drain of org_failing_/);
    expect(await findEvent(ctx.db, w.failingEventId)).toMatchObject({ status: 'pending' });
  });
});

describe('dirsync pause and resume', () => {
  it('pauses, resumes and triggers a drain on resume', async () => {
    const w = await seedOperatorWorld(ctx.db, 'pause');
    const paused = await dirsync(['pause', '--org', w.healthy, '--actor', 'ops.alice']);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain(`paused ${w.healthy}`);
    expect((await findOrganization(ctx.db, w.healthy))?.paused_at).toBeInstanceOf(Date);

    const resumed = json<Record<string, unknown>>(
      await dirsync(['resume', '--org', w.healthy, '--json']),
    );
    expect(resumed).toMatchObject({
      organizationId: w.healthy,
      paused: false,
      pausedAt: null,
      triggered: true,
    });
    expect((await findOrganization(ctx.db, w.healthy))?.paused_at).toBeNull();
    expect(await waitingDrains()).toContain(w.healthy);
    // Who did it: --actor, else the OS user.
    expect(await operatorAudit(w.healthy)).toEqual([
      ['organization_paused', 'ops.alice', 'cli'],
      ['organization_resumed', userInfo().username, 'cli'],
    ]);
  });

  it('replays into a paused organization and says the events wait for the resume', async () => {
    const w = await seedOperatorWorld(ctx.db, 'replaypaused');
    expect((await dirsync(['pause', '--org', w.failing])).code).toBe(0);
    const run = await dirsync(['replay', w.failingEventId]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `${w.failing} is paused: the events wait until \`dirsync resume --org ${w.failing}\``,
    );
    expect(run.stdout).not.toContain('drain triggered');
    expect(await waitingDrains()).not.toContain(w.failing);
    expect((await operatorAudit(w.failing)).map(([action]) => action)).toEqual([
      'organization_paused',
      'event_replayed',
    ]);
  });

  it('exits 2 for an unknown organization or a missing --org, and creates nothing', async () => {
    for (const args of [
      ['pause', '--org', 'org_nobody'],
      ['resume', '--org', 'org_nobody'],
      ['pause'],
    ]) {
      const run = await dirsync(args);
      expect(run.code, args.join(' ')).toBe(2);
    }
    expect(await findOrganization(ctx.db, 'org_nobody')).toBeUndefined();
  });
});

describe('bin/dirsync', () => {
  it('runs through symlinks, as npm installs it (node_modules/.bin, npm link)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dirsync-bin-'));
    try {
      // node_modules/.bin/dirsync -> ../dirsync/bin/dirsync, node_modules/dirsync -> the package
      mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
      symlinkSync(
        fileURLToPath(new URL('..', import.meta.url)),
        join(dir, 'node_modules', 'dirsync'),
      );
      symlinkSync('../dirsync/bin/dirsync', join(dir, 'node_modules', '.bin', 'dirsync'));
      // A global install's link to that link.
      symlinkSync(join(dir, 'node_modules', '.bin', 'dirsync'), join(dir, 'dirsync'));
      for (const command of [join(dir, 'node_modules', '.bin', 'dirsync'), join(dir, 'dirsync')]) {
        const run = await dirsync(['status', '--json'], {}, command);
        expect(run.stderr, command).toBe('');
        expect(run.code).toBe(0);
        expect(JSON.parse(run.stdout)).toHaveProperty('organizations');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dirsync errors with --json', () => {
  it('prints one {error:{code,message}} line on stderr, nothing on stdout, with the exit code', async () => {
    const w = await seedOperatorWorld(ctx.db, 'jsonerrors');
    const cases: Array<[string[], Record<string, string>, number, string, RegExp]> = [
      [
        ['status', '--org', 'org_nobody', '--json'],
        {},
        2,
        'unknown_organization',
        /^unknown organization org_nobody$/,
      ],
      [
        ['replay', 'event_nobody', '--json'],
        {},
        2,
        'unknown_event',
        /^unknown event event_nobody$/,
      ],
      [['replay', w.ignoredEventId, '--json'], {}, 2, 'not_replayable', /was ignored/],
      [['replay', '--json'], {}, 2, 'usage', /give an event id, or --org <id> --dead/],
      [['pause', '--json'], {}, 2, 'usage', /^required option '--org <id>' not specified$/],
      [['status', '--json', '--bogus'], {}, 2, 'usage', /unknown option '--bogus'/],
      [
        ['resync', '--org', w.healthy, '--json'],
        { WORKOS_API_KEY: '' },
        78,
        'not_configured',
        /WORKOS_API_KEY is not set/,
      ],
      [
        ['status', '--json'],
        { DATABASE_SCHEMA: 'Not-An-Identifier' },
        78,
        'invalid_configuration',
        /^invalid configuration: DATABASE_SCHEMA/,
      ],
      [
        ['status', '--json'],
        { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' },
        1,
        'failed',
        /./,
      ],
    ];
    for (const [args, env, code, errorCode, message] of cases) {
      const run = await dirsync(args, env);
      const what = args.join(' ');
      expect(run.code, what).toBe(code);
      expect(run.stdout, what).toBe('');
      expect(run.stderr.endsWith('\n') && run.stderr.trim().split('\n').length, what).toBe(1);
      const body = JSON.parse(run.stderr) as { error: { code: string; message: string } };
      expect(Object.keys(body), what).toEqual(['error']);
      expect(body.error.code, what).toBe(errorCode);
      expect(body.error.message, what).toMatch(message);
    }
  });
});

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('dirsync resync against an unreachable WorkOS', () => {
  it('fails with workos_request_failed and the cause, one JSON line on stderr, no log lines', async () => {
    const w = await seedOperatorWorld(ctx.db, 'resyncdown');
    const env = {
      WORKOS_API_KEY: 'sk_test_unreachable',
      WORKOS_API_HOSTNAME: '127.0.0.1',
      WORKOS_API_PORT: String(await closedPort()),
      WORKOS_API_HTTPS: 'false',
      // The default level: the retry warnings would be logged were it not for --json.
      LOG_LEVEL: 'info',
    };
    // The client retries refused connections for about a minute before giving up.
    const run = await dirsync(['resync', '--org', w.healthy, '--json'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    const { error } = JSON.parse(run.stderr) as { error: { code: string; message: string } };
    expect(error.code).toBe('workos_request_failed');
    expect(error.message).toMatch(/^GET \/directories: .*fetch failed: .*ECONNREFUSED/);
    expect(error.message).toMatch(/gave up after \d+ attempts/);
  });
});

describe('--json output', () => {
  it('uses camelCase keys in every command', async () => {
    const w = await seedOperatorWorld(ctx.db, 'keys');
    const runs = [
      ['status', '--json'],
      ['dead', 'list', '--json'],
      ['replay', w.failingEventId, '--json'],
      ['pause', '--org', w.healthy, '--json'],
      ['resume', '--org', w.healthy, '--json'],
      ['migrate', '--json'],
    ];
    for (const args of runs) {
      const keys = new Set<string>();
      const collect = (value: unknown): void => {
        if (Array.isArray(value)) value.forEach(collect);
        else if (value && typeof value === 'object') {
          for (const [key, inner] of Object.entries(value)) {
            keys.add(key);
            collect(inner);
          }
        }
      };
      collect(json(await dirsync(args)));
      for (const key of keys) expect(key, args.join(' ')).toMatch(/^[a-z][A-Za-z0-9]*$/);
    }
  });
});

describe('dirsync errors', () => {
  it('exits 78 on bad configuration and 1 when Postgres is unreachable', async () => {
    const config = await dirsync(['status'], { DATABASE_SCHEMA: 'Not-An-Identifier' });
    expect(config.code).toBe(78);
    expect(config.stderr).toMatch(/^invalid configuration: DATABASE_SCHEMA/);
    const down = await dirsync(['status'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^dirsync: /);
  });
});
