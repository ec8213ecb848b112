// SCIM resources between the wire and storage: request bodies are checked and
// normalized (canonical attribute names, `active` as a boolean even when an
// identity provider sends "False", no id/meta/password stored), and stored rows
// become responses with `schemas` and `meta`, projected by `attributes` /
// `excludedAttributes`.
import type { StoredGroup, StoredUser } from '../../common/scim/wire-events.ts';
import { ScimError } from './errors.ts';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

/**
 * Never stored: assigned by the server (id, meta; a User's groups come from the
 * Groups), or write-only (password, RFC 7643 `returned: never`).
 */
const DROPPED = new Set(['id', 'meta', 'schemas', 'password', 'groups']);

/** Core attribute names as RFC 7643 spells them (names are case-insensitive). */
const CANONICAL = new Map(
  [
    'userName',
    'externalId',
    'active',
    'name',
    'emails',
    'displayName',
    'nickName',
    'profileUrl',
    'title',
    'userType',
    'preferredLanguage',
    'locale',
    'timezone',
    'phoneNumbers',
    'addresses',
    'roles',
    'members',
    ENTERPRISE_SCHEMA,
  ].map((name) => [name.toLowerCase(), name]),
);

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Postgres text and jsonb cannot hold NUL (U+0000): such a value is refused as bad
 * input rather than failing the insert.
 */
function refuseNul(value: unknown, depth = 0): void {
  if (depth > 32) throw new ScimError(400, 'the resource is nested too deep', 'invalidValue');
  if (typeof value === 'string') {
    if (value.includes('\u0000'))
      throw new ScimError(400, 'values cannot contain NUL (U+0000)', 'invalidValue');
  } else if (Array.isArray(value)) {
    for (const v of value) refuseNul(v, depth + 1);
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      refuseNul(k, depth + 1);
      refuseNul(v, depth + 1);
    }
  }
}

/** Canonical names for known attributes; unknown ones are kept as sent. */
function canonical(body: Json): Json {
  refuseNul(body);
  const out: Json = {};
  for (const [key, value] of Object.entries(body)) {
    const name = CANONICAL.get(key.toLowerCase()) ?? key;
    if (!DROPPED.has(name.toLowerCase())) out[name] = value;
  }
  return out;
}

/** `active` as a boolean: Entra ID sends the strings "True" / "False". */
export function toBoolean(value: unknown, attribute: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (v === 'true') return true;
    if (v === 'false') return false;
  }
  throw new ScimError(400, `${attribute} must be true or false`, 'invalidValue');
}

function optionalText(value: unknown, attribute: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string')
    throw new ScimError(400, `${attribute} must be a string`, 'invalidValue');
  return value === '' ? null : value;
}

function requiredText(value: unknown, attribute: string, max = 1024): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ScimError(400, `${attribute} is required (a non-empty string)`, 'invalidValue');
  }
  if (value.length > max) throw new ScimError(400, `${attribute} is too long`, 'invalidValue');
  return value;
}

export interface UserInput {
  userName: string;
  externalId: string | null;
  active: boolean;
  attributes: Json;
}

/** A User body (POST, PUT, or the result of a PATCH) checked and normalized. */
export function parseUser(body: unknown): UserInput {
  if (!isObject(body)) throw new ScimError(400, 'the body must be a JSON object', 'invalidSyntax');
  const attributes = canonical(body);
  const userName = requiredText(attributes.userName, 'userName', 255);
  const externalId = optionalText(attributes.externalId, 'externalId');
  const active =
    attributes.active === undefined || attributes.active === null
      ? true
      : toBoolean(attributes.active, 'active');
  if (attributes.emails !== undefined && !Array.isArray(attributes.emails)) {
    throw new ScimError(400, 'emails must be an array', 'invalidValue');
  }
  if (attributes.name !== undefined && attributes.name !== null && !isObject(attributes.name)) {
    throw new ScimError(400, 'name must be an object', 'invalidValue');
  }
  attributes.active = active;
  if (externalId === null) delete attributes.externalId;
  return { userName, externalId, active, attributes };
}

export interface GroupInput {
  displayName: string;
  externalId: string | null;
  attributes: Json;
  /** User ids, when the body has `members`. */
  members: string[] | undefined;
}

export function memberIds(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((m) => {
    const id = isObject(m) ? m.value : m;
    if (typeof id !== 'string' || id === '' || id.length > 255 || id.includes('\u0000')) {
      throw new ScimError(400, 'each member needs a "value" (a User id)', 'invalidValue');
    }
    return id;
  });
}

export function parseGroup(body: unknown): GroupInput {
  if (!isObject(body)) throw new ScimError(400, 'the body must be a JSON object', 'invalidSyntax');
  const attributes = canonical(body);
  const displayName = requiredText(attributes.displayName, 'displayName', 1024);
  const externalId = optionalText(attributes.externalId, 'externalId');
  const members = 'members' in attributes ? [...new Set(memberIds(attributes.members))] : undefined;
  delete attributes.members;
  if (externalId === null) delete attributes.externalId;
  return { displayName, externalId, attributes, members };
}

function meta(
  resourceType: 'User' | 'Group',
  r: { id: string; created: Date; lastModified: Date },
  base: string,
) {
  return {
    resourceType,
    created: r.created.toISOString(),
    lastModified: r.lastModified.toISOString(),
    location: `${base}/${resourceType}s/${r.id}`,
  };
}

export function userResource(user: StoredUser, base: string): Json {
  const extensions = Object.keys(user.attributes).filter((k) => k.startsWith('urn:'));
  return {
    schemas: [USER_SCHEMA, ...extensions],
    id: user.id,
    ...user.attributes,
    meta: meta('User', user, base),
  };
}

export interface Member {
  value: string;
  display?: string;
}

export function groupResource(
  group: StoredGroup,
  members: Member[] | undefined,
  base: string,
): Json {
  return {
    schemas: [GROUP_SCHEMA],
    id: group.id,
    ...group.attributes,
    ...(members === undefined
      ? {}
      : { members: members.map((m) => ({ ...m, $ref: `${base}/Users/${m.value}` })) }),
    meta: meta('Group', group, base),
  };
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sorted(value[k])]),
  );
}

/** Deep equality of JSON values, whatever the key order. */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}
