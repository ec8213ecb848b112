// `dirsync send-test-event`, the README's quickstart step: the real bin/dirsync posts
// a signed event to a running service, which stores and applies it; --delete
// deprovisions the same user; a wrong secret is refused and said so in one JSON line.
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { useTestContext } from './support/context.ts';

const ctx = useTestContext('cli_send_test_event');
vi.setConfig({ testTimeout: 300_000 });
const bin = fileURLToPath(new URL('../bin/dirsync', import.meta.url));

function dirsync(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      bin,
      args,
      {
        cwd: tmpdir(),
        timeout: 120_000,
        env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...env },
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

function userState(org: string) {
  return ctx.db
    .selectFrom('users')
    .select('state')
    .where('organization_id', '=', org)
    .where('directory_user_id', '=', 'directory_user_dirsync_test')
    .executeTakeFirst()
    .then((row) => row?.state);
}

describe('dirsync send-test-event', () => {
  it('posts a signed event that the service stores and applies, then deprovisions the user', async () => {
    const service = await ctx.startService({ api: true, worker: true });
    const url = `${service.address}/webhooks/workos`;
    const env = { WORKOS_WEBHOOK_SECRET: 'whsec_test_primary' };
    const org = 'org_send_test_event';

    const sent = await dirsync(['send-test-event', '--org', org, '--url', url, '--json'], env);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({
      eventType: 'dsync.user.created',
      organizationId: org,
      status: 200,
      response: { received: true, duplicate: false },
    });
    await expect.poll(() => userState(org), { timeout: 120_000, interval: 50 }).toBe('active');

    const deleted = await dirsync(['send-test-event', '--delete', '--org', org, '--url', url], env);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toMatch(
      /^sent event_test_\w+ \(dsync\.user\.deleted, organization org_send_test_event/,
    );
    await expect.poll(() => userState(org), { timeout: 120_000, interval: 50 }).toBe('inactive');
    await service.stop();
  });

  it('reports a refused signature as one JSON error line', async () => {
    const service = await ctx.startService({ api: true, worker: false });
    const run = await dirsync(
      ['send-test-event', '--url', `${service.address}/webhooks/workos`, '--json'],
      { WORKOS_WEBHOOK_SECRET: 'whsec_some_other_secret' },
    );
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(run.stderr)).toMatchObject({ error: { code: 'webhook_refused' } });
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 401 });
    await service.stop();
  });

  it('needs a secret', async () => {
    const run = await dirsync(['send-test-event', '--json'], {});
    expect(run).toMatchObject({ code: 78, stdout: '' });
    expect(JSON.parse(run.stderr)).toMatchObject({ error: { code: 'not_configured' } });
  });
});
