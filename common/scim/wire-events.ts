// The SCIM producer's normalizer: a SCIM write, as stored, becomes directory events
// in the wire shape WorkOS uses (common/events.ts), so the same inbox, drain,
// appliers, revocation and audit apply it. Pure: rows in, events out.
//
// Mapping (README "SCIM"): a User is a `users` row (directory_user_id = SCIM id),
// `email` its primary email (else the work one, else the first, else userName when
// it is an address), first/last name from name.givenName/familyName, `state` from
// `active`, externalId as idp_id, every other attribute (the enterprise extension
// under its URN, userName, displayName, ...) in custom_attributes. A Group is a
// `groups` row named by displayName; members are group_memberships.
import { monotonicId as ulid } from './ids.ts';

export interface ScimDirectoryRef {
  id: string;
  organizationId: string;
  name: string | null;
}

export interface StoredUser {
  id: string;
  userName: string;
  externalId: string | null;
  active: boolean;
  attributes: Record<string, unknown>;
  created: Date;
  lastModified: Date;
}

export interface StoredGroup {
  id: string;
  displayName: string;
  externalId: string | null;
  attributes: Record<string, unknown>;
  created: Date;
  lastModified: Date;
}

export interface WireEvent {
  id: string;
  event: string;
  created_at: string;
  data: Record<string, unknown>;
}

/** SCIM event ids start with `scim_` (the audit actor trigger relies on it). */
export function scimEventId(): string {
  return `scim_${ulid()}`;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** Attributes that map to columns of their own, kept out of custom_attributes. */
const MAPPED = new Set([
  'schemas',
  'id',
  'meta',
  'externalid',
  'active',
  'name',
  'emails',
  'password',
]);

type Email = { value?: unknown; type?: unknown; primary?: unknown };

export function primaryEmail(userName: string, attributes: Record<string, unknown>): string | null {
  const emails = Array.isArray(attributes.emails)
    ? (attributes.emails as Email[]).filter(
        (e) => e && typeof e === 'object' && typeof e.value === 'string' && e.value !== '',
      )
    : [];
  const pick =
    emails.find((e) => e.primary === true || e.primary === 'true' || e.primary === 'True') ??
    emails.find((e) => typeof e.type === 'string' && e.type.toLowerCase() === 'work') ??
    emails[0];
  if (pick) return pick.value as string;
  return EMAIL.test(userName) ? userName : null;
}

function nameOf(attributes: Record<string, unknown>, part: 'givenName' | 'familyName') {
  const name = attributes.name;
  if (!name || typeof name !== 'object') return null;
  const value = (name as Record<string, unknown>)[part];
  return typeof value === 'string' && value !== '' ? value : null;
}

function customAttributes(user: StoredUser): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(user.attributes)) {
    if (!MAPPED.has(key.toLowerCase())) out[key] = value;
  }
  return out;
}

export function userData(directory: ScimDirectoryRef, user: StoredUser): Record<string, unknown> {
  return {
    object: 'directory_user',
    id: user.id,
    directory_id: directory.id,
    organization_id: directory.organizationId,
    idp_id: user.externalId,
    email: primaryEmail(user.userName, user.attributes),
    first_name: nameOf(user.attributes, 'givenName'),
    last_name: nameOf(user.attributes, 'familyName'),
    state: user.active ? 'active' : 'inactive',
    custom_attributes: customAttributes(user),
    created_at: user.created.toISOString(),
    updated_at: user.lastModified.toISOString(),
  };
}

export function groupData(
  directory: ScimDirectoryRef,
  group: StoredGroup,
): Record<string, unknown> {
  return {
    object: 'directory_group',
    id: group.id,
    directory_id: directory.id,
    organization_id: directory.organizationId,
    idp_id: group.externalId,
    name: group.displayName,
    created_at: group.created.toISOString(),
    updated_at: group.lastModified.toISOString(),
  };
}

function event(type: string, data: Record<string, unknown>, at: Date): WireEvent {
  return { id: scimEventId(), event: type, created_at: at.toISOString(), data };
}

export function userEvent(
  directory: ScimDirectoryRef,
  kind: 'created' | 'updated' | 'deleted',
  user: StoredUser,
  at: Date,
): WireEvent {
  return event(`dsync.user.${kind}`, userData(directory, user), at);
}

export function groupEvent(
  directory: ScimDirectoryRef,
  kind: 'created' | 'updated' | 'deleted',
  group: StoredGroup,
  at: Date,
): WireEvent {
  return event(`dsync.group.${kind}`, groupData(directory, group), at);
}

export function membershipEvent(
  directory: ScimDirectoryRef,
  added: boolean,
  group: StoredGroup,
  user: StoredUser,
  at: Date,
): WireEvent {
  return event(
    added ? 'dsync.group.user_added' : 'dsync.group.user_removed',
    {
      directory_id: directory.id,
      user: userData(directory, user),
      group: groupData(directory, group),
    },
    at,
  );
}

export function directoryEvent(
  directory: ScimDirectoryRef & { created: Date },
  kind: 'activated' | 'deleted',
  at: Date,
): WireEvent {
  return event(
    `dsync.${kind}`,
    {
      object: 'directory',
      id: directory.id,
      organization_id: directory.organizationId,
      type: 'scim v2.0',
      state: kind === 'activated' ? 'active' : 'deleted',
      name: directory.name,
      created_at: directory.created.toISOString(),
      updated_at: at.toISOString(),
    },
    at,
  );
}
