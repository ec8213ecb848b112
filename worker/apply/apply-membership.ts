// Memberships per (group, user): the latest event wins (version: event time, then
// event id), overlaid by the group's latest deletion and the directory's deletion,
// whichever is newer. The user and group are created from the payload if missing.
import type { MembershipData } from '../../common/events.ts';
import { writeUser } from './apply-user.ts';
import type { Effects } from './effects.ts';
import {
  compareVersions,
  directoryMembershipTombstone,
  eventVersion,
  type GroupRecord,
  type MembershipRecord,
  membershipKey,
  type Snapshot,
  type Version,
} from './snapshot.ts';

function latestOverlay(snapshot: Snapshot, group: GroupRecord): Version | undefined {
  const horizon =
    group.memberships_ended_at && group.memberships_ended_by
      ? eventVersion(group.memberships_ended_at.getTime(), group.memberships_ended_by)
      : undefined;
  const tombstone = directoryMembershipTombstone(snapshot.directories.get(group.directory_id));
  if (!horizon) return tombstone;
  if (!tombstone) return horizon;
  return compareVersions(horizon, tombstone) >= 0 ? horizon : tombstone;
}

function membershipVersion(m: MembershipRecord): Version {
  return eventVersion(m.source_event_at.getTime(), m.source_event_id);
}

function recordTransition(
  group: GroupRecord,
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
      directory_group_id: group.directory_group_id,
    },
  });
  if (!isActive && group.grants_role) {
    effects.revoke({ userId: after.user_id, eventId, reason: 'group_removed' });
  }
}

/** Ends an active membership whose last event is older than `overlay`. */
export function endMembership(
  snapshot: Snapshot,
  group: GroupRecord,
  membership: MembershipRecord,
  overlay: Version,
  eventId: string,
  effects: Effects,
): void {
  if (membership.removed_at !== null) return;
  if (compareVersions(membershipVersion(membership), overlay) >= 0) return;
  const next = { ...membership, removed_at: new Date(overlay.eventAt) };
  const key = membershipKey(membership.group_id, membership.user_id);
  snapshot.memberships.set(key, next);
  snapshot.dirty.memberships.add(key);
  recordTransition(group, membership, next, eventId, effects);
}

export function writeMembership(
  snapshot: Snapshot,
  write: { data: MembershipData; added: boolean; eventAt: number; eventId: string },
  effects: Effects,
  writeGroupSnapshot: (group: MembershipData['group']) => void,
): 'applied' | 'stale' {
  const { data, added, eventAt, eventId } = write;
  // The embedded user and group are snapshots too; they lose ties to direct user and
  // group events (event time 0), so a membership event never outranks a deletion of
  // the same moment.
  writeUser(
    snapshot,
    {
      data: data.user,
      version: { at: Date.parse(data.user.updated_at), eventAt: 0, eventId: '' },
      deleted: false,
      eventId,
    },
    effects,
  );
  writeGroupSnapshot(data.group);
  const user = snapshot.users.get(data.user.id)!;
  const group = snapshot.groups.get(data.group.id)!;

  const version = eventVersion(eventAt, eventId);
  const key = membershipKey(group.id, user.id);
  const existing = snapshot.memberships.get(key);
  if (existing && compareVersions(version, membershipVersion(existing)) <= 0) return 'stale';

  const overlay = latestOverlay(snapshot, group);
  const overlaid = added && overlay !== undefined && compareVersions(overlay, version) > 0;
  const next: MembershipRecord = {
    group_id: group.id,
    user_id: user.id,
    organization_id: snapshot.organizationId,
    source_event_at: new Date(eventAt),
    source_event_id: eventId,
    removed_at: !added ? new Date(eventAt) : overlaid ? new Date(overlay.eventAt) : null,
  };
  snapshot.memberships.set(key, next);
  snapshot.dirty.memberships.add(key);
  recordTransition(group, existing, next, eventId, effects);
  return 'applied';
}
