// SCIM test helpers: a directory made the way `dirsync scim create` makes it, and a
// small client for its base URL.
import { createScimDirectory } from '../../common/scim/directories.ts';
import type { Service } from '../../service.ts';
import type { TestContext } from './context.ts';

export interface ScimResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: SCIM bodies are free-form JSON in tests
  body: any;
}

export interface ScimClient {
  directoryId: string;
  organizationId: string;
  token: string;
  /** The base URL as the server names it (meta.location, $ref). */
  base: string;
  request(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ScimResponse>;
}

/** The operator the tests act as. */
export const TEST_ACTOR = { name: 'test', via: 'cli' } as const;

export async function createDirectory(
  ctx: TestContext,
  service: Service,
  organizationId: string,
): Promise<ScimClient> {
  const created = await createScimDirectory(
    { db: ctx.db, config: ctx.config, apply: async () => {}, actor: TEST_ACTOR },
    { organizationId, name: `SCIM ${organizationId}` },
  );
  return client(service, created.directoryId, created.token, organizationId, created.baseUrl);
}

export function client(
  service: Service,
  directoryId: string,
  token: string,
  organizationId = '',
  /** The base URL the server names itself by (PUBLIC_URL), for `location` and `$ref`. */
  publicBase = `${service.address}/scim/v2/${directoryId}`,
): ScimClient {
  const url = `${service.address}/scim/v2/${directoryId}`;
  return {
    directoryId,
    organizationId,
    token,
    base: publicBase,
    async request(method, path, body, headers = {}) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}),
          ...headers,
        },
        body:
          body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        body: text ? JSON.parse(text) : undefined,
      };
    },
  };
}

/** The contract row of a SCIM user (by its SCIM id). */
export async function userRow(ctx: TestContext, scimId: string) {
  return ctx.db
    .selectFrom('users')
    .selectAll()
    .where('directory_user_id', '=', scimId)
    .executeTakeFirst();
}

export async function groupRow(ctx: TestContext, scimId: string) {
  return ctx.db
    .selectFrom('groups')
    .selectAll()
    .where('directory_group_id', '=', scimId)
    .executeTakeFirst();
}

/** SCIM ids of the users with a live membership of the group (by its SCIM id). */
export async function activeMembers(ctx: TestContext, groupScimId: string): Promise<string[]> {
  const rows = await ctx.db
    .selectFrom('group_memberships as m')
    .innerJoin('groups as g', 'g.id', 'm.group_id')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select('u.directory_user_id')
    .where('g.directory_group_id', '=', groupScimId)
    .where('m.removed_at', 'is', null)
    .orderBy('u.directory_user_id')
    .execute();
  return rows.map((r) => r.directory_user_id);
}

/** Gives a provisioned user `n` live sessions; returns their ids. */
export async function addSessions(ctx: TestContext, scimId: string, n: number): Promise<string[]> {
  const user = await userRow(ctx, scimId);
  if (!user) throw new Error(`no user ${scimId}`);
  const rows = await ctx.db
    .insertInto('sessions')
    .values(Array.from({ length: n }, () => ({ user_id: user.id })))
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

export async function liveSessions(ctx: TestContext, scimId: string): Promise<number> {
  const row = await ctx.db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('u.directory_user_id', '=', scimId)
    .where('s.revoked_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function auditOf(ctx: TestContext, subjectId: string) {
  return ctx.db
    .selectFrom('audit_log')
    .select(['action', 'actor', 'event_id', 'detail'])
    .where('subject_id', '=', subjectId)
    .orderBy('id')
    .execute();
}
