// SCIM test helpers: a directory made the way `dirsync scim create` makes it, and a
// small client for its base URL.
import { createScimDirectory } from '../../common/scim/directories.ts';
import type { Service } from '../../common/service.ts';
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
  base: string;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ScimResponse>;
}

export async function createDirectory(
  ctx: TestContext,
  service: Service,
  organizationId: string,
): Promise<ScimClient> {
  const created = await createScimDirectory(
    { db: ctx.db, config: ctx.config, apply: async () => {} },
    { organizationId, name: `SCIM ${organizationId}` },
  );
  return client(service, created.directoryId, created.token, organizationId);
}

export function client(
  service: Service,
  directoryId: string,
  token: string,
  organizationId = '',
): ScimClient {
  const base = `${service.address}/scim/v2/${directoryId}`;
  return {
    directoryId,
    organizationId,
    token,
    base,
    async request(method, path, body, headers = {}) {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
    },
  };
}
