// Groups: last writer wins like users. A group deletion also raises the group's
// membership horizon (the latest deletion): every membership whose last event is
// older ends, whether it is already known or arrives later.
import { randomUUID } from 'node:crypto';
import type { DirectoryGroupData } from '../../common/events.ts';
import { raiseMembershipHorizon } from './apply-membership.ts';
import type { Effects } from './effects.ts';
import {
  compareVersions,
  eventVersion,
  type GroupRecord,
  type Snapshot,
  type Version,
  versionOf,
} from './snapshot.ts';

export interface GroupWrite {
  data: DirectoryGroupData;
  version: Version;
  deleted: boolean;
  eventId: string;
}

function recordGroupChange(
  effects: Effects,
  before: GroupRecord | undefined,
  after: GroupRecord,
  eventId: string,
) {
  const subject = { subject_type: 'group' as const, subject_id: after.id, event_id: eventId };
  const detail = { directory_group_id: after.directory_group_id };
  const wasLive = before !== undefined && before.deleted_at === null;
  const isLive = after.deleted_at === null;
  if (isLive && !wasLive) effects.record({ ...subject, action: 'group_created', detail });
  else if (!isLive && (wasLive || !before))
    effects.record({ ...subject, action: 'group_deleted', detail });
  else if (isLive && before && before.name !== after.name) {
    effects.record({
      ...subject,
      action: 'group_updated',
      detail: { ...detail, changed: ['name'] },
    });
  }
}

export function writeGroup(
  snapshot: Snapshot,
  write: GroupWrite,
  effects: Effects,
): 'applied' | 'stale' {
  const { data, version, eventId } = write;
  const existing = snapshot.groups.get(data.id);
  let group = existing;
  let outcome: 'applied' | 'stale' = 'stale';
  if (!existing || compareVersions(version, versionOf(existing)) > 0) {
    const directory = snapshot.directories.get(data.directory_id);
    // A deleted directory never comes back: every later write is a deletion.
    const overlaid = !write.deleted && directory?.deleted_at != null;
    group = {
      id: existing?.id ?? randomUUID(),
      directory_group_id: data.id,
      organization_id: data.organization_id,
      directory_id: data.directory_id,
      idp_id: data.idp_id,
      name: data.name,
      grants_role: existing?.grants_role ?? null,
      memberships_ended_at: existing?.memberships_ended_at ?? null,
      memberships_ended_by: existing?.memberships_ended_by ?? null,
      source_updated_at: new Date(version.at),
      source_event_at: new Date(version.eventAt),
      source_event_id: version.eventId,
      deleted_at: write.deleted ? new Date(version.at) : overlaid ? directory!.deleted_at : null,
    };
    snapshot.groups.set(data.id, group);
    snapshot.dirty.groups.add(data.id);
    recordGroupChange(effects, existing, group, eventId);
    outcome = 'applied';
  }
  if (write.deleted && group) {
    // Even a deletion older than the group's current record ends older memberships.
    const changed = raiseMembershipHorizon(
      snapshot,
      group,
      'group',
      eventVersion(version.eventAt, eventId),
      eventId,
      effects,
    );
    if (changed) outcome = 'applied';
  }
  return outcome;
}

/** Marks a group deleted because its directory went (keeps its own version). */
export function overlayGroupDeletion(
  snapshot: Snapshot,
  group: GroupRecord,
  deletedAt: Date,
  eventId: string,
  effects: Effects,
) {
  if (group.deleted_at !== null) return;
  const next = { ...group, deleted_at: deletedAt };
  snapshot.groups.set(group.directory_group_id, next);
  snapshot.dirty.groups.add(group.directory_group_id);
  recordGroupChange(effects, group, next, eventId);
}
