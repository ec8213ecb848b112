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
import type { LocalState } from './load-local.ts';
import {
  directoryData,
  directoryDiff,
  directoryFromRow,
  groupDiff,
  groupFromRow,
  str,
  time,
  userDiff,
  userFromRow,
  withOrganization,
} from './wire-objects.ts';

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
function writtenBefore(row: Versioned, observedAt: Date): boolean {
  const t = observedAt.getTime();
  return (row.source_updated_at?.getTime() ?? 0) < t && row.source_event_at.getTime() < t;
}

type Versioned = { source_updated_at?: Date; source_event_at: Date };

/** A diff being built: its events so far, and what deciding the next ones needs. */
class DiffBuilder {
  readonly events: SyntheticEvent[] = [];
  readonly changes: Change[] = [];
  readonly counts: ReconcileDiff['counts'] = {};
  stale = 0;
  deferred = 0;
  /** Upstream users and groups not written: their memberships are left alone too. */
  readonly skipped = new Set<string>();
  /** Directories gone upstream, deferred or not. */
  readonly missingDirectories = new Set<string>();
  readonly organizationId: string;
  readonly upstream: UpstreamState;
  readonly local: LocalState;
  readonly observedAt: Date;
  private readonly observedIso: string;
  private readonly nextId: () => string;

  constructor(
    organizationId: string,
    upstream: UpstreamState,
    local: LocalState,
    observedAt: Date,
    nextId: () => string,
  ) {
    this.organizationId = organizationId;
    this.upstream = upstream;
    this.local = local;
    this.observedAt = observedAt;
    this.observedIso = observedAt.toISOString();
    this.nextId = nextId;
  }

  /** Gone upstream, and safe to end: written before the read began (else deferred). */
  endable(row: Versioned): boolean {
    if (writtenBefore(row, this.observedAt)) return true;
    this.deferred += 1;
    return false;
  }

  inMissingDirectory(row: { directory_id: string }): boolean {
    return this.missingDirectories.has(row.directory_id);
  }

  upstreamGroup(id: string): WireObject | undefined {
    return this.upstream.groups.get(id) ?? this.upstream.embeddedGroups.get(id);
  }

  withOrganization(o: WireObject): Record<string, unknown> {
    return withOrganization(o, this.organizationId);
  }

  emit(type: DirectoryEventType, data: Record<string, unknown>, change: Omit<Change, 'type'>) {
    this.events.push({
      object: 'event',
      id: this.nextId(),
      event: type,
      data,
      created_at: this.observedIso,
      context: { source: 'reconcile' },
    });
    this.changes.push({ type, ...change });
    this.counts[type] = (this.counts[type] ?? 0) + 1;
  }
}

/**
 * The synthetic events that make `local` equal to `upstream`; `observedAt` is when
 * the upstream read began (see the top of this file). Each step emits in the order
 * the drain is to apply them.
 */
export function diffOrganization(
  organizationId: string,
  upstream: UpstreamState,
  local: LocalState,
  observedAt: Date,
  nextId: () => string,
): ReconcileDiff {
  const diff = new DiffBuilder(organizationId, upstream, local, observedAt, nextId);
  const goneDirectories = missingDirectories(diff);
  writeDirectories(diff);
  writeObjects(diff, upstream.groups.values(), local.groups, groupDiff, {
    created: 'dsync.group.created',
    updated: 'dsync.group.updated',
  });
  writeObjects(diff, upstream.users.values(), local.users, userDiff, {
    created: 'dsync.user.created',
    updated: 'dsync.user.updated',
  });
  addMemberships(diff);
  const ended = endedObjects(diff);
  removeMemberships(diff, ended);
  for (const id of ended.users) {
    diff.emit('dsync.user.deleted', userFromRow(local.users.get(id)!, observedAt), { subject: id });
  }
  for (const id of ended.groups) {
    diff.emit('dsync.group.deleted', groupFromRow(local.groups.get(id)!, observedAt), {
      subject: id,
    });
  }
  for (const id of goneDirectories) {
    diff.emit('dsync.deleted', directoryFromRow(local.directories.get(id)!, observedAt), {
      subject: id,
    });
  }
  return summary(diff);
}

/**
 * Directories gone upstream: their deletion covers everything in them. Users and
 * groups of a missing directory are never deleted one by one, even while the
 * directory itself is deferred. Returns those to delete now.
 */
function missingDirectories(diff: DiffBuilder): Set<string> {
  const missing = [...diff.local.directories.values()].filter(
    (d) => d.deleted_at === null && !diff.upstream.directories.has(d.id),
  );
  for (const d of missing) diff.missingDirectories.add(d.id);
  return new Set(missing.filter((d) => diff.endable(d)).map((d) => d.id));
}

function writeDirectories(diff: DiffBuilder): void {
  for (const d of diff.upstream.directories.values()) {
    const data = directoryData(d, diff.organizationId);
    const row = diff.local.directories.get(d.id);
    if (row?.deleted_at) continue; // a deleted directory stays deleted (apply-directory.ts)
    const fields = row ? directoryDiff(data, row) : [];
    const decision = decide(time(d.updated_at), row, fields.length > 0);
    if (decision === 'stale') diff.stale += 1;
    if (decision === 'write')
      diff.emit('dsync.activated', data, { subject: d.id, fields: row ? fields : undefined });
  }
}

/** Creates what is missing (or revives a tombstone), updates what differs. */
function writeObjects<Row extends { source_updated_at: Date; deleted_at: Date | null }>(
  diff: DiffBuilder,
  objects: Iterable<WireObject>,
  rows: Map<string, Row>,
  differs: (o: WireObject, row: Row) => string[],
  types: { created: DirectoryEventType; updated: DirectoryEventType },
): void {
  for (const o of objects) {
    const row = rows.get(o.id);
    const fields = row ? differs(o, row) : [];
    const decision = decide(time(o.updated_at), row, fields.length > 0);
    if (decision === 'stale') {
      diff.stale += 1;
      if (row?.deleted_at) diff.skipped.add(o.id);
    }
    if (decision !== 'write') continue;
    const update = row !== undefined && row.deleted_at === null;
    diff.emit(update ? types.updated : types.created, diff.withOrganization(o), {
      subject: o.id,
      fields: update ? fields : undefined,
    });
  }
}

function addMemberships(diff: DiffBuilder): void {
  for (const key of diff.upstream.memberships) {
    if (diff.local.memberships.has(key)) continue;
    const [groupId, userId] = membershipOf(key);
    const user = diff.upstream.users.get(userId);
    const group = diff.upstreamGroup(groupId);
    if (!user || !group || diff.skipped.has(userId) || diff.skipped.has(groupId)) continue;
    diff.emit(
      'dsync.group.user_added',
      {
        directory_id: str(group.directory_id),
        user: diff.withOrganization(user),
        group: diff.withOrganization(group),
      },
      { subject: key },
    );
  }
}

/** Live users and groups gone upstream, outside a missing directory, safe to end. */
function endedObjects(diff: DiffBuilder): { users: Set<string>; groups: Set<string> } {
  const { upstream, local } = diff;
  const groups = new Set(
    [...local.groups.values()]
      .filter(
        (g) =>
          g.deleted_at === null &&
          !upstream.groups.has(g.directory_group_id) &&
          !diff.inMissingDirectory(g) &&
          diff.endable(g),
      )
      .map((g) => g.directory_group_id),
  );
  const users = new Set(
    [...local.users.values()]
      .filter(
        (u) =>
          u.deleted_at === null &&
          !upstream.users.has(u.directory_user_id) &&
          !diff.inMissingDirectory(u) &&
          diff.endable(u),
      )
      .map((u) => u.directory_user_id),
  );
  return { users, groups };
}

function removeMemberships(
  diff: DiffBuilder,
  ended: { users: Set<string>; groups: Set<string> },
): void {
  for (const [key, sourceEventAt] of diff.local.memberships) {
    if (diff.upstream.memberships.has(key)) continue;
    const [groupId, userId] = membershipOf(key);
    const userRow = diff.local.users.get(userId);
    const groupRow = diff.local.groups.get(groupId);
    if (!userRow || !groupRow) continue;
    // A user, group or directory deletion ends these memberships itself.
    if (ended.users.has(userId) || ended.groups.has(groupId) || diff.inMissingDirectory(groupRow))
      continue;
    if (!diff.endable({ source_event_at: sourceEventAt })) continue;
    const user = diff.upstream.users.get(userId);
    const group = diff.upstreamGroup(groupId);
    diff.emit(
      'dsync.group.user_removed',
      {
        directory_id: groupRow.directory_id,
        // Stored objects keep their stored version, so they never overwrite anything.
        user: user ? diff.withOrganization(user) : userFromRow(userRow, userRow.source_updated_at),
        group: group
          ? diff.withOrganization(group)
          : groupFromRow(groupRow, groupRow.source_updated_at),
      },
      { subject: key },
    );
  }
}

function summary(diff: DiffBuilder): ReconcileDiff {
  const { upstream, local } = diff;
  const live = <T extends { deleted_at: Date | null }>(rows: Iterable<T>) =>
    [...rows].filter((r) => r.deleted_at === null).length;
  return {
    events: diff.events,
    changes: diff.changes,
    counts: diff.counts,
    stale: diff.stale,
    deferred: diff.deferred,
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
