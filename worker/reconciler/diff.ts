// The difference between WorkOS's directory state and dirsync's, as the synthetic
// events that make them equal once the drain applies them (a pure function).
//
// - Present upstream, missing or different here: the upstream object, in a
//   created/updated event carrying its own updated_at, so last-writer-wins lets it
//   land only if it is not older than what we hold (an older one is counted as
//   `stale` and left alone: a newer write already won).
// - Present here, gone upstream: a deletion built from the stored row. A directory
//   gone upstream is one dsync.deleted, which ends its users, groups and
//   memberships itself.
// - Memberships: added or removed until both sides hold the same pairs.
//
// The upstream read is slow (4 requests/s per directory) and the local snapshot is
// taken after it, so a user, group, membership or directory created upstream after
// its page was read, whose webhook was applied before the snapshot, is here and not
// in the read. Deleting it would deprovision someone who just joined, for good (the
// next read's older object would lose to the tombstone). So only what was last
// written before the read began (`observedAt`) is deleted or removed; anything newer
// is counted as `deferred` and left to its events and the next reconciliation. Every
// event is dated `observedAt`, the latest time the read vouches for: a deletion
// outranks each write it replaces (all older), and a real change made during the
// read outranks the synthetic event. Ids sort in the order below, which is the
// order the drain applies them in: directories, groups, users, memberships added,
// removed, then user, group and directory deletions.
import type { DirectoryEventType } from '../../common/events.ts';
import { membershipOf } from '../membership-key.ts';
import type { UpstreamState, WireObject } from './fetch-upstream.ts';
import type { LocalDirectory, LocalGroup, LocalState, LocalUser } from './load-local.ts';

export interface SyntheticEvent {
  object: 'event';
  id: string;
  event: DirectoryEventType;
  data: Record<string, unknown>;
  created_at: string;
  context: { source: 'reconcile' };
}

export interface Change {
  type: DirectoryEventType;
  /** The WorkOS id of the directory, user or group; membershipKey(group, user) for a membership. */
  subject: string;
  /** For updates: which fields differ. Never their values (personal data). */
  fields?: string[];
}

export interface ReconcileDiff {
  events: SyntheticEvent[];
  changes: Change[];
  counts: Partial<Record<DirectoryEventType, number>>;
  /** Upstream objects older than what dirsync holds: left to last-writer-wins. */
  stale: number;
  /** Missing upstream but written here after the read began: not deleted (see above). */
  deferred: number;
  upstream: { directories: number; users: number; groups: number; memberships: number };
  local: { directories: number; users: number; groups: number; memberships: number };
}

const DIRECTORY_STATES: Record<string, string> = { linked: 'active', unlinked: 'inactive' };

/** Key order does not matter to equality; JSON of sorted keys does it. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const time = (v: unknown): number => (typeof v === 'string' ? Date.parse(v) : Number.NaN);

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

function userDiff(u: WireObject, row: LocalUser): string[] {
  const upstream = userFields(u);
  return (Object.keys(upstream) as Array<keyof typeof upstream>).filter(
    (field) => canonical(upstream[field]) !== canonical(row[field]),
  );
}

function groupDiff(g: WireObject, row: LocalGroup): string[] {
  const fields: string[] = [];
  if (str(g.name) !== row.name) fields.push('name');
  if (str(g.idp_id) !== row.idp_id) fields.push('idp_id');
  if (str(g.directory_id) !== row.directory_id) fields.push('directory_id');
  return fields;
}

function directoryData(d: WireObject, organizationId: string): Record<string, unknown> {
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

function directoryDiff(data: Record<string, unknown>, row: LocalDirectory): string[] {
  return (['state', 'type', 'name'] as const).filter((f) => str(data[f]) !== row[f]);
}

/** A stored user as a WorkOS object: the body of a deletion or of a membership event. */
function userFromRow(row: LocalUser, updatedAt: Date): Record<string, unknown> {
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

function groupFromRow(row: LocalGroup, updatedAt: Date): Record<string, unknown> {
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

function directoryFromRow(row: LocalDirectory, updatedAt: Date): Record<string, unknown> {
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
function withOrganization(o: WireObject, organizationId: string): Record<string, unknown> {
  return { ...o, organization_id: str(o.organization_id) ?? organizationId };
}

type Decision = 'write' | 'same' | 'stale';

/** Upstream vs a stored row under last-writer-wins by updated_at. */
function decide(
  upstreamUpdatedAt: number,
  row: { source_updated_at: Date; deleted_at: Date | null } | undefined,
  differs: boolean,
): Decision {
  if (!row) return 'write';
  if (row.deleted_at === null && !differs) return 'same';
  return upstreamUpdatedAt >= row.source_updated_at.getTime() ? 'write' : 'stale';
}

/** Whether a stored row was last written before the upstream read began. */
function writtenBefore(
  row: { source_updated_at?: Date; source_event_at: Date },
  observedAt: Date,
): boolean {
  const t = observedAt.getTime();
  return (row.source_updated_at?.getTime() ?? 0) < t && row.source_event_at.getTime() < t;
}

/**
 * The synthetic events that make `local` equal to `upstream`; `observedAt` is when
 * the upstream read began (see the top of this file).
 */
export function diffOrganization(
  organizationId: string,
  upstream: UpstreamState,
  local: LocalState,
  observedAt: Date,
  nextId: () => string,
): ReconcileDiff {
  const observedIso = observedAt.toISOString();
  const events: SyntheticEvent[] = [];
  const changes: Change[] = [];
  const counts: ReconcileDiff['counts'] = {};
  let stale = 0;
  let deferred = 0;
  /** Gone upstream, and safe to end: written before the read began. */
  const endable = (row: { source_updated_at?: Date; source_event_at: Date }) => {
    if (writtenBefore(row, observedAt)) return true;
    deferred += 1;
    return false;
  };
  const emit = (
    type: DirectoryEventType,
    data: Record<string, unknown>,
    change: Omit<Change, 'type'>,
  ) => {
    events.push({
      object: 'event',
      id: nextId(),
      event: type,
      data,
      created_at: observedIso,
      context: { source: 'reconcile' },
    });
    changes.push({ type, ...change });
    counts[type] = (counts[type] ?? 0) + 1;
  };

  // Directories gone upstream: their deletion covers everything in them. Users and
  // groups of a missing directory are never deleted one by one, even while the
  // directory itself is deferred.
  const missingDirectories = [...local.directories.values()].filter(
    (d) => d.deleted_at === null && !upstream.directories.has(d.id),
  );
  const goneDirectories = new Set(missingDirectories.filter(endable).map((d) => d.id));
  const missing = new Set(missingDirectories.map((d) => d.id));
  const inMissingDirectory = (row: { directory_id: string }) => missing.has(row.directory_id);

  for (const d of upstream.directories.values()) {
    const data = directoryData(d, organizationId);
    const row = local.directories.get(d.id);
    if (row?.deleted_at) continue; // a deleted directory stays deleted (apply-directory.ts)
    const fields = row ? directoryDiff(data, row) : [];
    const decision = decide(time(d.updated_at), row, fields.length > 0);
    if (decision === 'stale') stale += 1;
    if (decision === 'write')
      emit('dsync.activated', data, { subject: d.id, fields: row ? fields : undefined });
  }

  const skipped = new Set<string>(); // upstream users/groups not written: leave their memberships too
  /** Creates what is missing (or revives a tombstone), updates what differs. */
  const upsert = <Row extends { source_updated_at: Date; deleted_at: Date | null }>(
    objects: Iterable<WireObject>,
    rows: Map<string, Row>,
    differs: (o: WireObject, row: Row) => string[],
    types: { created: DirectoryEventType; updated: DirectoryEventType },
  ) => {
    for (const o of objects) {
      const row = rows.get(o.id);
      const fields = row ? differs(o, row) : [];
      const decision = decide(time(o.updated_at), row, fields.length > 0);
      if (decision === 'stale') {
        stale += 1;
        if (row?.deleted_at) skipped.add(o.id);
      }
      if (decision !== 'write') continue;
      const update = row !== undefined && row.deleted_at === null;
      emit(update ? types.updated : types.created, withOrganization(o, organizationId), {
        subject: o.id,
        fields: update ? fields : undefined,
      });
    }
  };
  upsert(upstream.groups.values(), local.groups, groupDiff, {
    created: 'dsync.group.created',
    updated: 'dsync.group.updated',
  });
  upsert(upstream.users.values(), local.users, userDiff, {
    created: 'dsync.user.created',
    updated: 'dsync.user.updated',
  });

  const upstreamGroup = (id: string) => upstream.groups.get(id) ?? upstream.embeddedGroups.get(id);
  for (const key of upstream.memberships) {
    if (local.memberships.has(key)) continue;
    const [groupId, userId] = membershipOf(key);
    const user = upstream.users.get(userId);
    const group = upstreamGroup(groupId);
    if (!user || !group || skipped.has(userId) || skipped.has(groupId)) continue;
    emit(
      'dsync.group.user_added',
      {
        directory_id: str(group.directory_id),
        user: withOrganization(user, organizationId),
        group: withOrganization(group, organizationId),
      },
      { subject: key },
    );
  }

  const deletedGroups = new Set(
    [...local.groups.values()]
      .filter(
        (g) =>
          g.deleted_at === null &&
          !upstream.groups.has(g.directory_group_id) &&
          !inMissingDirectory(g) &&
          endable(g),
      )
      .map((g) => g.directory_group_id),
  );
  const deletedUsers = new Set(
    [...local.users.values()]
      .filter(
        (u) =>
          u.deleted_at === null &&
          !upstream.users.has(u.directory_user_id) &&
          !inMissingDirectory(u) &&
          endable(u),
      )
      .map((u) => u.directory_user_id),
  );
  for (const [key, sourceEventAt] of local.memberships) {
    if (upstream.memberships.has(key)) continue;
    const [groupId, userId] = membershipOf(key);
    const userRow = local.users.get(userId);
    const groupRow = local.groups.get(groupId);
    if (!userRow || !groupRow) continue;
    // A user, group or directory deletion ends these memberships itself.
    if (deletedUsers.has(userId) || deletedGroups.has(groupId) || inMissingDirectory(groupRow))
      continue;
    if (!endable({ source_event_at: sourceEventAt })) continue;
    const user = upstream.users.get(userId);
    const group = upstreamGroup(groupId);
    emit(
      'dsync.group.user_removed',
      {
        directory_id: groupRow.directory_id,
        // Stored objects keep their stored version, so they never overwrite anything.
        user: user
          ? withOrganization(user, organizationId)
          : userFromRow(userRow, userRow.source_updated_at),
        group: group
          ? withOrganization(group, organizationId)
          : groupFromRow(groupRow, groupRow.source_updated_at),
      },
      { subject: key },
    );
  }

  for (const id of deletedUsers) {
    emit('dsync.user.deleted', userFromRow(local.users.get(id)!, observedAt), { subject: id });
  }
  for (const id of deletedGroups) {
    emit('dsync.group.deleted', groupFromRow(local.groups.get(id)!, observedAt), { subject: id });
  }
  for (const id of goneDirectories) {
    emit('dsync.deleted', directoryFromRow(local.directories.get(id)!, observedAt), {
      subject: id,
    });
  }

  const live = <T extends { deleted_at: Date | null }>(rows: Iterable<T>) =>
    [...rows].filter((r) => r.deleted_at === null).length;
  return {
    events,
    changes,
    counts,
    stale,
    deferred,
    upstream: {
      directories: upstream.directories.size,
      users: upstream.users.size,
      groups: upstream.groups.size,
      memberships: upstream.memberships.size,
    },
    local: {
      directories: live(local.directories.values()),
      users: live(local.users.values()),
      groups: live(local.groups.values()),
      memberships: local.memberships.size,
    },
  };
}
