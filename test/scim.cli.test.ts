// `dirsync scim create|list|rotate-token|delete` as an operator runs them (the real
// bin/dirsync in a child process), and the same actions in the admin API.
import { execFile } from 'node:child_process';
import { tmpdir, userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Service } from '../service.ts';
import { useTestContext } from './support/context.ts';
import { client } from './support/scim.ts';

const ctx = useTestContext('scim_cli');
vi.setConfig({ testTimeout: 60_000 });
const bin = fileURLToPath(new URL('../bin/dirsync', import.meta.url));
const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
let service: Service;

beforeAll(async () => {
  service = await ctx.startService(
    { api: true, worker: true },
    { ADMIN_TOKEN, PUBLIC_URL: 'https://dirsync.example.com/' },
  );
});
afterAll(async () => {
  await service.stop();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function dirsync(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      bin,
      args,
      {
        cwd: tmpdir(),
        timeout: 50_000,
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL: ctx.config.DATABASE_URL,
          DATABASE_SCHEMA: ctx.config.DATABASE_SCHEMA,
          REDIS_URL: ctx.config.REDIS_URL,
          REDIS_PREFIX: ctx.config.REDIS_PREFIX,
          PUBLIC_URL: 'https://dirsync.example.com/',
          LOG_LEVEL: 'silent',
          ...env,
        },
      },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

const json = <T>(run: Run): T => {
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as T;
};

/** [action, subject, actor, via] of the organization's operator audit rows, oldest first. */
async function operatorAudit(organizationId: string) {
  const rows = await ctx.db
    .selectFrom('audit_log')
    .select(['action', 'subject_id', 'detail'])
    .where('organization_id', '=', organizationId)
    .where('event_id', 'like', 'operator\\_%')
    .orderBy('id')
    .execute();
  return rows.map((r) => [r.action, r.subject_id, r.detail.actor, r.detail.via]);
}

interface Created {
  directoryId: string;
  organizationId: string;
  baseUrl: string;
  token: string;
}

describe('dirsync scim', () => {
  let created: Created;

  it('create --json prints exactly {directoryId, organizationId, baseUrl, token}; the organization exists', async () => {
    created = json<Created>(
      await dirsync([
        'scim',
        'create',
        '--org',
        'org_cli',
        '--name',
        'Okta',
        '--actor',
        'ops.alice',
        '--json',
      ]),
    );
    expect(Object.keys(created).sort()).toEqual([
      'baseUrl',
      'directoryId',
      'organizationId',
      'token',
    ]);
    expect(created.organizationId).toBe('org_cli');
    expect(created.baseUrl).toBe(`https://dirsync.example.com/scim/v2/${created.directoryId}`);
    expect(
      Buffer.from(created.token.replace(/^dscim_/, ''), 'base64url').length,
    ).toBeGreaterThanOrEqual(32);
    const org = await ctx.db
      .selectFrom('organizations')
      .select('id')
      .where('id', '=', 'org_cli')
      .executeTakeFirst();
    expect(org?.id).toBe('org_cli');
    // The worker applies the directory's activation.
    await expect
      .poll(
        async () =>
          (
            await ctx.db
              .selectFrom('directories')
              .select('state')
              .where('id', '=', created.directoryId)
              .executeTakeFirst()
          )?.state,
        { timeout: 60_000 },
      )
      .toBe('active');
    const scim = client(service, created.directoryId, created.token);
    expect((await scim.request('GET', '/Users')).status).toBe(200);
  });

  it('create without --json prints the base URL and the token for people', async () => {
    const run = await dirsync(['scim', 'create', '--org', 'org_cli_text']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/base URL: https:\/\/dirsync\.example\.com\/scim\/v2\/directory_/);
    expect(run.stdout).toMatch(/token: +dscim_/);
  });

  it('list [--org] [--json]', async () => {
    const all = json<Array<{ directoryId: string }>>(await dirsync(['scim', 'list', '--json']));
    expect(all.map((d) => d.directoryId)).toContain(created.directoryId);
    const one = json<Array<{ directoryId: string; baseUrl: string }>>(
      await dirsync(['scim', 'list', '--org', 'org_cli', '--json']),
    );
    expect(one).toHaveLength(1);
    expect(one[0]).toMatchObject({ directoryId: created.directoryId, baseUrl: created.baseUrl });
    const text = await dirsync(['scim', 'list']);
    expect(text.stdout).toContain(created.directoryId);
  });

  it('rotate-token --json: the new token works, the old one does not (no grace)', async () => {
    const rotated = json<Created>(
      await dirsync([
        'scim',
        'rotate-token',
        '--directory',
        created.directoryId,
        '--actor',
        'ops.bob',
        '--json',
      ]),
    );
    expect(rotated.token).not.toBe(created.token);
    expect(
      (await client(service, created.directoryId, created.token).request('GET', '/Users')).status,
    ).toBe(401);
    expect(
      (await client(service, created.directoryId, rotated.token).request('GET', '/Users')).status,
    ).toBe(200);
    created = { ...created, token: rotated.token };
  });

  it('delete: the directory is deleted and everyone in it deprovisioned', async () => {
    const scim = client(service, created.directoryId, created.token);
    const user = await scim.request('POST', '/Users', { userName: 'cli@example.com' });
    expect(user.status).toBe(201);
    const run = await dirsync(['scim', 'delete', '--directory', created.directoryId]);
    expect(run.code).toBe(0);
    await expect
      .poll(
        async () =>
          (
            await ctx.db
              .selectFrom('users')
              .select('state')
              .where('directory_user_id', '=', user.body.id)
              .executeTakeFirst()
          )?.state,
        { timeout: 60_000 },
      )
      .toBe('inactive');
    expect((await scim.request('GET', '/Users')).status).toBe(401);
  });

  it('create, rotate-token and delete are in the audit log with the operator (--actor, else the OS user)', async () => {
    const { username } = userInfo();
    expect(await operatorAudit('org_cli')).toEqual([
      ['scim_directory_created', created.directoryId, 'ops.alice', 'cli'],
      ['scim_token_rotated', created.directoryId, 'ops.bob', 'cli'],
      ['scim_directory_deleted', created.directoryId, username, 'cli'],
    ]);
    // A refused action records nothing.
    await dirsync(['scim', 'rotate-token', '--directory', 'directory_nope', '--actor', 'ops.eve']);
    const operators = await ctx.db
      .selectFrom('audit_log')
      .select('detail')
      .where('event_id', 'like', 'operator\\_%')
      .execute();
    expect(operators.filter((r) => r.detail.actor === 'ops.eve')).toEqual([]);
  });

  it('unknown directories exit 2', async () => {
    const rotate = await dirsync([
      'scim',
      'rotate-token',
      '--directory',
      'directory_nope',
      '--json',
    ]);
    expect(rotate.code).toBe(2);
    expect(JSON.parse(rotate.stderr)).toEqual({
      error: { code: 'unknown_directory', message: 'unknown SCIM directory directory_nope' },
    });
    expect((await dirsync(['scim', 'delete', '--directory', 'directory_nope'])).code).toBe(2);
    expect((await dirsync(['scim', 'create'])).code).toBe(2);
  });
});

describe('admin API', () => {
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${service.adminAddress}/admin/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('creates (201, the same JSON), lists, rotates and deletes', async () => {
    const res = await admin('POST', '/scim/directories', {
      organizationId: 'org_admin',
      name: 'Entra',
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as Created;
    expect(Object.keys(created).sort()).toEqual([
      'baseUrl',
      'directoryId',
      'organizationId',
      'token',
    ]);
    const scim = client(service, created.directoryId, created.token);
    const user = await scim.request('POST', '/Users', { userName: 'admin@example.com' });
    expect(user.status).toBe(201);
    const listed = (await (
      await admin('GET', '/scim/directories?organization=org_admin')
    ).json()) as { directories: Array<{ directoryId: string }> };
    expect(listed.directories.map((d) => d.directoryId)).toEqual([created.directoryId]);
    const rotated = await admin('POST', `/scim/directories/${created.directoryId}/rotate-token`);
    expect(rotated.status).toBe(200);
    expect(((await rotated.json()) as Created).token).toMatch(/^dscim_/);
    const deleted = await admin('DELETE', `/scim/directories/${created.directoryId}`);
    expect(deleted.status).toBe(200);
    // Applied before the answer.
    const row = await ctx.db
      .selectFrom('users')
      .select('state')
      .where('directory_user_id', '=', user.body.id)
      .executeTakeFirst();
    expect(row?.state).toBe('inactive');
    expect((await admin('DELETE', `/scim/directories/${created.directoryId}`)).status).toBe(404);
    // Each action audited with the operator of the credential (ADMIN_TOKEN: `admin`).
    expect(await operatorAudit('org_admin')).toEqual([
      ['scim_directory_created', created.directoryId, 'admin', 'admin_api'],
      ['scim_token_rotated', created.directoryId, 'admin', 'admin_api'],
      ['scim_directory_deleted', created.directoryId, 'admin', 'admin_api'],
    ]);
    expect((await admin('POST', '/scim/directories', {})).status).toBe(400);
    const noAuth = await fetch(`${service.adminAddress}/admin/api/scim/directories`);
    expect(noAuth.status).toBe(401);
  });
});
