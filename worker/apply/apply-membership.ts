// Memberships per (group, user): the latest event wins (version: event time, then
// event id), overlaid by the group's or the user's latest deletion, whichever is
// newer. A deleted directory ends every membership of it, however new. The user and
// group are created from the payload if missing.
import type { MembershipData } from '../../common/events.ts';
import { membershipKey } from '../membership-key.ts';
import type { Effects } from './effects.ts';
import {
  compareVersions,
  directoryMembershipTombstone,
  eventVersion,
  type GroupRecord,
  type MembershipRecord,
  type Snapshot,
  type UserRecord,
  type Version,
} from './snapshot.ts';

type WithHorizon = Pick<GroupRecord | UserRecord, 'memberships_ended_at' | 'memberships_ended_by'>;

/** The version memberships are compared with: the user's or group's latest deletion. */
export function membershipHorizon(record: WithHorizon | undefined): Version | undefined {
  return record?.memberships_ended_at && record.memberships_ended_by
    ? eventVersion(record.memberships_ended_at.getTime(), record.memberships_ended_by)
    : undefined;
}

function latest(...versions: Array<Version | undefined>): Version | undefined {
  let best: Version | undefined;
  for (const v of versions) if (v && (!best || compareVersions(v, best) > 0)) best = v;
  return best;
}

function latestOverlay(
  snapshot: Snapshot,
  group: GroupRecord,
  user: UserRecord,
): Version | undefined {
  return latest(
    membershipHorizon(group),
    membershipHorizon(user),
    directoryMembershipTombstone(snapshot.directories.get(group.directory_id)),
  );
}

function membershipVersion(m: MembershipRecord): Version {
  return eventVersion(m.source_event_at.getTime(), m.source_event_id);
}

function recordTransition(
  group: GroupRecord | undefined,
  before: MembershipRecord | undefined,
  after: MembershipRecord,
  eventId: string,
  effects: Effects,
) {
  const wasActive = before !== undefined && before.removed_at === null;
  const isActive = after.removed_at === null;
  if (wasActive === isActive) return;
  effects.record({
    event_id: eventId,
    action: isActive ? 'membership_added' : 'membership_removed',
    subject_type: 'membership',
    subject_id: membershipKey(after.group_id, after.user_id),
    detail: {
      group_id: after.group_id,
      user_id: after.user_id,
      directory_group_id: group?.directory_group_id,
    },
  });
  if (!isActive && group?.grants_role) {
    effects.revoke({ userId: after.user_id, eventId, reason: 'group_removed' });
  }
}

/**
 * Ends an active membership whose last event is older than `overlay`; with `force`
 * (its directory was deleted) a newer one too, dated at its own event.
 */
export function endMembership(
  snapshot: Snapshot,
  group: GroupRecord | undefined,
  membership: MembershipRecord,
  overlay: Version,
  eventId: string,
  effects: Effects,
  options: { force?: boolean } = {},
): boolean {
  if (membership.removed_at !== null) return false;
  const newer = compareVersions(membershipVersion(membership), overlay) >= 0;
  if (newer && !options.force) return false;
  const removedAt = newer ? membership.source_event_at : new Date(overlay.eventAt);
  const next = { ...membership, removed_at: removedAt };
  const key = membershipKey(membership.group_id, membership.user_id);
  snapshot.memberships.set(key, next);
  snapshot.dirty.memberships.add(key);
  recordTransition(group, membership, next, eventId, effects);
  return true;
}

export function writeMembership(
  snapshot: Snapshot,
  write: { data: MembershipData; added: boolean; eventAt: number; eventId: string },
  effects: Effects,
  writeEmbedded: (data: MembershipData) => void,
): 'applied' | 'stale' {
  const { data, added, eventAt, eventId } = write;
  // The embedded user and group are snapshots too, written first (last writer wins).
  writeEmbedded(data);
  const user = snapshot.users.get(data.user.id)!;
  const group = snapshot.groups.get(data.group.id)!;

  const version = eventVersion(eventAt, eventId);
  const key = membershipKey(group.id, user.id);
  const existing = snapshot.memberships.get(key);
  if (existing && compareVersions(version, membershipVersion(existing)) <= 0) return 'stale';

  const overlay = latestOverlay(snapshot, group, user);
  const overlaid = added && overlay !== undefined && compareVersions(overlay, version) > 0;
  const directoryGone = snapshot.directories.get(group.directory_id)?.deleted_at != null;
  const next: MembershipRecord = {
    group_id: group.id,
    user_id: user.id,
    organization_id: snapshot.organizationId,
    source_event_at: new Date(eventAt),
    source_event_id: eventId,
    removed_at: !added
      ? new Date(eventAt)
      : overlaid
        ? new Date(overlay.eventAt)
        : directoryGone
          ? new Date(eventAt)
          : null,
  };
  snapshot.memberships.set(key, next);
  snapshot.dirty.memberships.add(key);
  recordTransition(group, existing, next, eventId, effects);
  return 'applied';
}

/**
 * Raises a user's or group's membership horizon to `horizon` (if newer) and ends
 * every loaded, still active membership of it that is older. `side` says which
 * column of the membership names the record. Returns whether anything changed.
 */
export function raiseMembershipHorizon<R extends GroupRecord | UserRecord>(
  snapshot: Snapshot,
  record: R,
  side: 'group' | 'user',
  horizon: Version,
  eventId: string,
  effects: Effects,
): boolean {
  const current = membershipHorizon(record);
  let next = record;
  let changed = false;
  if (!current || compareVersions(horizon, current) > 0) {
    changed = true;
    next = {
      ...record,
      memberships_ended_at: new Date(horizon.eventAt),
      memberships_ended_by: horizon.eventId,
    };
    if (side === 'group') {
      const g = next as GroupRecord;
      snapshot.groups.set(g.directory_group_id, g);
      snapshot.dirty.groups.add(g.directory_group_id);
    } else {
      const u = next as UserRecord;
      snapshot.users.set(u.directory_user_id, u);
      snapshot.dirty.users.add(u.directory_user_id);
    }
  }
  for (const membership of [...snapshot.memberships.values()]) {
    if ((side === 'group' ? membership.group_id : membership.user_id) !== record.id) continue;
    const group =
      side === 'group' ? (next as GroupRecord) : findGroup(snapshot, membership.group_id);
    if (endMembership(snapshot, group, membership, horizon, eventId, effects)) changed = true;
  }
  return changed;
}

function findGroup(snapshot: Snapshot, id: string): GroupRecord | undefined {
  for (const group of snapshot.groups.values()) if (group.id === id) return group;
  return undefined;
}
