// SCIM bearer tokens: 32 random bytes (base64url) with a recognisable prefix; only
// their sha256 is stored.
import { createHash, randomBytes } from 'node:crypto';

export function newScimToken(): string {
  return `dscim_${randomBytes(32).toString('base64url')}`;
}

export function hashScimToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
