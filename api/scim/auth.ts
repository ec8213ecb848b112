// Bearer authentication of the SCIM API: the token must be one of the directory's
// own (a token opens only its directory), compared as sha256 digests in constant
// time. A missing, wrong, expired or other directory's token, and an unknown or
// deleted directory, all get the same 401.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { hashScimToken } from '../../common/scim/tokens.ts';
import type { ScimDirectoryRef } from '../../common/scim/wire-events.ts';
import type { Database } from '../../db/database.ts';
import { directoryWithTokens } from '../../db/repositories/scim-directories.repository.ts';
import { SCIM_CONTENT_TYPE, scimErrorBody } from './errors.ts';

export type AuthenticatedDirectory = ScimDirectoryRef & { created: Date };

const BEARER = /^Bearer\s+(\S{1,512})\s*$/i;
const DIRECTORY_ID = /^[A-Za-z0-9_-]{1,128}$/;

function matches(token: string, hashes: readonly Buffer[]): boolean {
  const digest = hashScimToken(token);
  let found = false;
  // Every hash is compared (no early exit), each in constant time.
  for (const hash of hashes) {
    if (hash.length === digest.length && timingSafeEqual(hash, digest)) found = true;
  }
  return found;
}

export async function authenticate(
  db: Database,
  request: FastifyRequest,
): Promise<AuthenticatedDirectory | undefined> {
  const directoryId = (request.params as { directoryId?: string }).directoryId ?? '';
  const header = request.headers.authorization;
  const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
  if (!token || !DIRECTORY_ID.test(directoryId)) return undefined;
  const found = await directoryWithTokens(db, directoryId);
  if (!found || !matches(token, found.hashes)) return undefined;
  const d = found.directory;
  return { id: d.id, organizationId: d.organization_id, name: d.name, created: d.created_at };
}

export function unauthorized(reply: FastifyReply) {
  return reply
    .status(401)
    .header('www-authenticate', 'Bearer realm="scim"')
    .type(SCIM_CONTENT_TYPE)
    .send(scimErrorBody(401, 'a valid bearer token for this directory is required'));
}
