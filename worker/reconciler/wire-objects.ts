// WorkOS objects and dirsync's rows side by side, for the reconciler's diff: which
// fields of an upstream object differ from its row, an upstream object as the event
// data that writes it, and a stored row as the WorkOS object a deletion or a
// membership event carries.
import type { WireObject } from './fetch-upstream.ts';
import type { LocalDirectory, LocalGroup, LocalUser } from './load-local.ts';

const DIRECTORY_STATES: Record<string, string> = { linked: 'active', unlinked: 'inactive' };

/** Key order does not matter to equality; JSON of sorted keys does it. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
export const time = (v: unknown): number => (typeof v === 'string' ? Date.parse(v) : Number.NaN);

function slugs(v: unknown): string[] {
  return Array.isArray(v)
    ? v.map((r) => str((r as { slug?: unknown })?.slug)).filter((s): s is string => s !== null)
    : [];
}

/** The user as the drain would store it (apply-user.ts), to compare with a row. */
function userFields(u: WireObject) {
  const roleSlug = str((u.role as { slug?: unknown } | null | undefined)?.slug);
  const listed = slugs(u.roles);
  const roles = listed.length > 0 ? listed : roleSlug ? [roleSlug] : [];
  return {
    directory_id: str(u.directory_id),
    idp_id: str(u.idp_id),
    email: str(u.email),
    first_name: str(u.first_name),
    last_name: str(u.last_name),
    state: str(u.state),
    role: roleSlug ?? roles[0] ?? null,
    roles,
    custom_attributes: (u.custom_attributes as Record<string, unknown> | null) ?? {},
  };
}

export function userDiff(u: WireObject, row: LocalUser): string[] {
  const upstream = userFields(u);
  return (Object.keys(upstream) as Array<keyof typeof upstream>).filter(
    (field) => canonical(upstream[field]) !== canonical(row[field]),
  );
}

export function groupDiff(g: WireObject, row: LocalGroup): string[] {
  const fields: string[] = [];
  if (str(g.name) !== row.name) fields.push('name');
  if (str(g.idp_id) !== row.idp_id) fields.push('idp_id');
  if (str(g.directory_id) !== row.directory_id) fields.push('directory_id');
  return fields;
}

export function directoryData(d: WireObject, organizationId: string): Record<string, unknown> {
  const { domain: _domain, ...rest } = d;
  const state = str(d.state) ?? 'active';
  return {
    ...rest,
    object: 'directory',
    organization_id: organizationId,
    state: DIRECTORY_STATES[state] ?? state,
    domains: [],
  };
}

export function directoryDiff(data: Record<string, unknown>, row: LocalDirectory): string[] {
  return (['state', 'type', 'name'] as const).filter((f) => str(data[f]) !== row[f]);
}

/** A stored user as a WorkOS object: the body of a deletion or of a membership event. */
export function userFromRow(row: LocalUser, updatedAt: Date): Record<string, unknown> {
  return {
    object: 'directory_user',
    id: row.directory_user_id,
    directory_id: row.directory_id,
    organization_id: row.organization_id,
    idp_id: row.idp_id,
    email: row.email,
    first_name: row.first_name,
    last_name: row.last_name,
    state: row.state,
    custom_attributes: row.custom_attributes,
    role: row.role ? { slug: row.role } : null,
    roles: row.roles.map((slug) => ({ slug })),
    created_at: row.created_at.toISOString(),
    updated_at: updatedAt.toISOString(),
  };
}

export function groupFromRow(row: LocalGroup, updatedAt: Date): Record<string, unknown> {
  return {
    object: 'directory_group',
    id: row.directory_group_id,
    idp_id: row.idp_id,
    directory_id: row.directory_id,
    organization_id: row.organization_id,
    name: row.name,
    created_at: row.created_at.toISOString(),
    updated_at: updatedAt.toISOString(),
  };
}

export function directoryFromRow(row: LocalDirectory, updatedAt: Date): Record<string, unknown> {
  return {
    object: 'directory',
    id: row.id,
    organization_id: row.organization_id,
    type: row.type,
    state: 'deleting',
    name: row.name,
    created_at: row.created_at.toISOString(),
    updated_at: updatedAt.toISOString(),
  };
}

/** WorkOS omits organization_id on some listed objects; ours are the organization's. */
export function withOrganization(o: WireObject, organizationId: string): Record<string, unknown> {
  return { ...o, organization_id: str(o.organization_id) ?? organizationId };
}
