// Directories. An activation records the directory (last writer wins). A deletion
// is a permanent tombstone (the latest deletion's version is kept): every user,
// group and membership of the directory is deprovisioned or ended, whatever its own
// version (the directory's updated_at and a user's come from different clocks, and
// a deleted directory never comes back), and every write for it that arrives later
// is overlaid as a deletion.
import type { DirectoryData } from '../../common/events.ts';
import { overlayGroupDeletion } from './apply-group.ts';
import { endMembership } from './apply-membership.ts';
import { overlayDirectoryDeletion } from './apply-user.ts';
import type { Effects } from './effects.ts';
import {
  compareVersions,
  type DirectoryRecord,
  directoryMembershipTombstone,
  type Snapshot,
  type Version,
  versionOf,
} from './snapshot.ts';

function record(data: DirectoryData, version: Version, deletedAt: Date | null): DirectoryRecord {
  return {
    id: data.id,
    organization_id: data.organization_id,
    state: data.state,
    type: data.type,
    name: data.name,
    source_updated_at: new Date(version.at),
    source_event_at: new Date(version.eventAt),
    source_event_id: version.eventId,
    deleted_at: deletedAt,
  };
}

export function activateDirectory(
  snapshot: Snapshot,
  write: { data: DirectoryData; version: Version; eventId: string },
  effects: Effects,
): 'applied' | 'stale' {
  const existing = snapshot.directories.get(write.data.id);
  if (existing?.deleted_at) return 'stale'; // a deleted directory stays deleted
  if (existing && compareVersions(write.version, versionOf(existing)) <= 0) return 'stale';
  const next = record(write.data, write.version, null);
  snapshot.directories.set(next.id, next);
  snapshot.dirty.directories.add(next.id);
  effects.record({
    event_id: write.eventId,
    action: existing ? 'directory_updated' : 'directory_activated',
    subject_type: 'directory',
    subject_id: next.id,
    detail: { state: next.state, type: next.type },
  });
  return 'applied';
}

/**
 * Needs every user, group and membership of the directory in the snapshot: the
 * loader reads them all when a batch holds a directory deletion.
 */
export function deleteDirectory(
  snapshot: Snapshot,
  write: { data: DirectoryData; version: Version; eventId: string },
  effects: Effects,
): 'applied' | 'stale' {
  const { data, version, eventId } = write;
  const existing = snapshot.directories.get(data.id);
  if (existing?.deleted_at && compareVersions(version, versionOf(existing)) <= 0) return 'stale';
  const directory = record(data, version, new Date(version.at));
  snapshot.directories.set(directory.id, directory);
  snapshot.dirty.directories.add(directory.id);
  if (!existing?.deleted_at) {
    effects.record({
      event_id: eventId,
      action: 'directory_deleted',
      subject_type: 'directory',
      subject_id: directory.id,
      detail: { type: directory.type },
    });
  }

  const deletedAt = directory.deleted_at!;
  for (const user of [...snapshot.users.values()]) {
    if (user.directory_id === directory.id)
      overlayDirectoryDeletion(snapshot, user, deletedAt, eventId, effects);
  }
  const membershipOverlay = directoryMembershipTombstone(directory)!;
  for (const group of [...snapshot.groups.values()]) {
    if (group.directory_id !== directory.id) continue;
    overlayGroupDeletion(snapshot, group, deletedAt, eventId, effects);
    const current = snapshot.groups.get(group.directory_group_id)!;
    for (const membership of [...snapshot.memberships.values()]) {
      if (membership.group_id === current.id) {
        endMembership(snapshot, current, membership, membershipOverlay, eventId, effects, {
          force: true,
        });
      }
    }
  }
  return 'applied';
}
