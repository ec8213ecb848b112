// `dirsync resync` as an operator runs it: a real process against the fake WorkOS.
// --dry-run --json prints the difference and writes nothing; without it, the
// synthetic events land in the inbox for the drain; an unknown organization exits 2.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../common/logger.ts';
import type { Resources } from '../common/resources.ts';
import { drainOrganization } from '../worker/drain/drain-organization.ts';
import { databaseShape, upstreamShape } from './fake-workos/compare.ts';
import { seedWorld, type World } from './fake-workos/seed.ts';
import { type FakeWorkOS, startFakeWorkOS } from './fake-workos/server.ts';
import { useTestContext } from './support/context.ts';
import { storeEvents } from './support/events.ts';

const ctx = useTestContext('reconciler.cli');
// A Node.js start-up per command: seconds on a machine shared by several test suites.
vi.setConfig({ testTimeout: 300_000 });
const ORG = 'org_cli';
const log = createLogger({ LOG_LEVEL: 'silent' });
let fake: FakeWorkOS;
let resources: Resources;
let world: World;

function dirsync(...args: string[]) {
  return promisify(execFile)(process.execPath, ['cli/dirsync.ts', ...args], {
    env: {
      ...process.env,
      ...ctx.env(),
      LOG_LEVEL: 'warn',
      WORKOS_API_KEY: fake.env.WORKOS_API_KEY,
      WORKOS_API_HOSTNAME: fake.env.WORKOS_API_HOSTNAME,
      WORKOS_API_PORT: String(fake.env.WORKOS_API_PORT),
      WORKOS_API_HTTPS: 'false',
      WORKOS_CLOCK_SKEW_MS: '0', // the fake's clock is this machine's
    },
  });
}

const inboxCount = async () =>
  Number(
    (
      await ctx.db
        .selectFrom('inbox')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

beforeAll(async () => {
  fake = await startFakeWorkOS();
  world = seedWorld(fake.store, ORG, { users: 3, groups: 1 });
  resources = ctx.openResources();
  await storeEvents(ctx.db, world.events, 'webhook');
  await drainOrganization(resources, ORG, { log });
});
afterAll(async () => {
  await resources.close();
  await fake.close();
});

describe('dirsync resync', () => {
  it('--dry-run --json prints the difference and changes nothing', async () => {
    fake.store.deleteUser(world.users[0]!.id); // its webhook is lost
    const before = await inboxCount();
    const { stdout } = await dirsync('resync', '--org', ORG, '--dry-run', '--json');
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({
      organizationId: ORG,
      dryRun: true,
      events: 1,
      stored: 0,
      counts: { 'dsync.user.deleted': 1 },
      sample: [{ type: 'dsync.user.deleted', subject: world.users[0]!.id }],
    });
    expect(await inboxCount()).toBe(before);
  });

  it('stores the repair for the drain and prints what it did', async () => {
    const { stdout } = await dirsync('resync', '--org', ORG, '--actor', 'deploy-bot');
    expect(stdout).toContain(`${ORG}: 1 changes`);
    expect(stdout).toMatch(/dsync\.user\.deleted\s+1/);
    expect(stdout).toContain('stored 1 events');
    expect(await drainOrganization(resources, ORG, { log })).toMatchObject({ applied: 1 });
    expect(await databaseShape(ctx.db, ORG)).toEqual(upstreamShape(fake.store, ORG));
    const audit = await ctx.db
      .selectFrom('audit_log')
      .select(['action', 'detail'])
      .where('organization_id', '=', ORG)
      .where('action', '=', 'resync_run')
      .execute();
    expect(audit).toEqual([
      {
        action: 'resync_run',
        detail: { actor: 'deploy-bot', via: 'cli', events: 1, force: false },
      },
    ]);
  });

  it('exits 2 with a clear message for an unknown organization', async () => {
    const failed = await dirsync('resync', '--org', 'org_unknown').catch((err) => err);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain('unknown organization org_unknown');
  });
});
