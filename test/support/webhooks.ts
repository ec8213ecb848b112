// Posting signed webhooks to an in-process app, signed with the WorkOS SDK's own
// `computeSignature` (not dirsync's code), as WorkOS would sign them.
import { WorkOS } from '@workos-inc/node';
import type { FastifyInstance } from 'fastify';

const sdk = new WorkOS({ clientId: 'dirsync-tests' }).webhooks;

/** The test context's secret (WORKOS_WEBHOOK_SECRET in support/context.ts). */
export const TEST_SECRET = 'whsec_test_primary';

export async function signatureHeader(body: string, secret = TEST_SECRET, timestamp = Date.now()) {
  return `t=${timestamp}, v1=${await sdk.computeSignature(timestamp, body, secret)}`;
}

export interface PostOptions {
  secret?: string;
  timestamp?: number;
  /** Replaces or removes (undefined) the headers a signed delivery has. */
  headers?: Record<string, string | undefined>;
}

export async function postWebhook(app: FastifyInstance, body: string, options: PostOptions = {}) {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'workos-signature': await signatureHeader(body, options.secret, options.timestamp),
  };
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  return app.inject({ method: 'POST', url: '/webhooks/workos', headers, payload: body });
}
