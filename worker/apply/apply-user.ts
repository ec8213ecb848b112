// Users: last writer wins on the whole record (version: source updated_at, event
// time, event id). A deleted directory overlays every write as a deletion.
// Deprovisioning (deleted, or state no longer active) revokes every session.
import { randomUUID } from 'node:crypto';
import type { DirectoryUserData } from '../../common/events.ts';
import { raiseMembershipHorizon } from './apply-membership.ts';
import type { Effects, RevocationReason } from './effects.ts';
import {
  compareVersions,
  eventVersion,
  isEffectivelyActive,
  type Snapshot,
  type UserRecord,
  type Version,
  versionOf,
} from './snapshot.ts';

export interface UserWrite {
  data: DirectoryUserData;
  version: Version;
  /** A dsync.user.deleted: the write is a tombstone. */
  deleted: boolean;
  eventId: string;
}

const tracked = [
  'email',
  'first_name',
  'last_name',
  'idp_id',
  'state',
  'role',
  'roles',
  'custom_attributes',
  'deleted_at',
] as const satisfies readonly (keyof UserRecord)[];

function changedFields(before: UserRecord, after: UserRecord): string[] {
  return tracked.filter((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]));
}

/** Personal data goes when a user is deleted under the `hard` policy; ids stay. */
function erase(record: UserRecord): UserRecord {
  return { ...record, email: null, first_name: null, last_name: null, custom_attributes: {} };
}

function rolesOf(data: DirectoryUserData): string[] {
  if (data.roles && data.roles.length > 0) return data.roles.map((r) => r.slug);
  return data.role ? [data.role.slug] : [];
}

/**
 * Marks a user deleted because its directory went (keeps its own version), and
 * revokes its sessions even when it was deleted already.
 */
export function overlayDirectoryDeletion(
  snapshot: Snapshot,
  user: UserRecord,
  deletedAt: Date,
  eventId: string,
  effects: Effects,
): void {
  if (user.deleted_at !== null) {
    effects.revoke({ userId: user.id, eventId, reason: 'directory_deleted' });
    return;
  }
  const wasActive = isEffectivelyActive(user);
  let next: UserRecord = { ...user, deleted_at: deletedAt, state: 'inactive' };
  if (snapshot.policy === 'hard') next = erase(next);
  snapshot.users.set(user.directory_user_id, next);
  snapshot.dirty.users.add(user.directory_user_id);
  if (wasActive) {
    effects.record({
      event_id: eventId,
      action: 'user_deprovisioned',
      subject_type: 'user',
      subject_id: user.id,
      detail: {
        reason: 'directory_deleted',
        policy: snapshot.policy,
        directory_user_id: user.directory_user_id,
      },
    });
  }
  effects.revoke({ userId: user.id, eventId, reason: 'directory_deleted' });
}

export function writeUser(
  snapshot: Snapshot,
  write: UserWrite,
  effects: Effects,
): 'applied' | 'stale' {
  const { data, version, eventId } = write;
  const existing = snapshot.users.get(data.id);
  if (existing && compareVersions(write.version, versionOf(existing)) <= 0) {
    if (!write.deleted) return 'stale';
    // Not newer, so the record stays; but the deletion still ends older memberships,
    // and makes sure no session of a user who is not active survives.
    const changed = raiseMembershipHorizon(
      snapshot,
      existing,
      'user',
      eventVersion(version.eventAt, eventId),
      eventId,
      effects,
    );
    if (!isEffectivelyActive(existing))
      effects.revoke({ userId: existing.id, eventId, reason: 'user_deleted' });
    return changed ? 'applied' : 'stale';
  }

  const directory = snapshot.directories.get(data.directory_id);
  const overlaid = !write.deleted && directory?.deleted_at != null;
  const deleted = write.deleted || overlaid;
  const roles = rolesOf(data);
  let next: UserRecord = {
    id: existing?.id ?? randomUUID(),
    directory_user_id: data.id,
    organization_id: data.organization_id,
    directory_id: data.directory_id,
    idp_id: data.idp_id,
    email: data.email,
    first_name: data.first_name,
    last_name: data.last_name,
    state: deleted ? 'inactive' : data.state,
    role: data.role?.slug ?? roles[0] ?? null,
    roles,
    custom_attributes: data.custom_attributes ?? {},
    memberships_ended_at: existing?.memberships_ended_at ?? null,
    memberships_ended_by: existing?.memberships_ended_by ?? null,
    source_updated_at: new Date(version.at),
    source_event_at: new Date(version.eventAt),
    source_event_id: version.eventId,
    deleted_at: write.deleted ? new Date(version.at) : overlaid ? directory!.deleted_at : null,
  };
  if (deleted && snapshot.policy === 'hard') next = erase(next);
  snapshot.users.set(data.id, next);
  snapshot.dirty.users.add(data.id);

  const wasActive = isEffectivelyActive(existing);
  const nowActive = isEffectivelyActive(next);
  const reason: RevocationReason = write.deleted
    ? 'user_deleted'
    : overlaid
      ? 'directory_deleted'
      : 'user_inactive';
  const subject = { subject_type: 'user' as const, subject_id: next.id, event_id: eventId };
  if (!existing) {
    effects.record({
      ...subject,
      action: nowActive ? 'user_provisioned' : 'user_deprovisioned',
      detail: nowActive
        ? { directory_user_id: data.id, state: next.state, role: next.role }
        : { directory_user_id: data.id, reason, policy: snapshot.policy },
    });
  } else if (wasActive && !nowActive) {
    effects.record({
      ...subject,
      action: 'user_deprovisioned',
      detail: { directory_user_id: data.id, reason, policy: snapshot.policy, state: next.state },
    });
  } else if (!wasActive && nowActive) {
    effects.record({
      ...subject,
      action: 'user_reactivated',
      detail: { directory_user_id: data.id, state: next.state, role: next.role },
    });
  } else {
    const changed = changedFields(existing, next);
    if (changed.length > 0) {
      const detail: Record<string, unknown> = { directory_user_id: data.id, changed };
      if (changed.includes('role')) detail.role = { from: existing.role, to: next.role };
      if (changed.includes('state')) detail.state = { from: existing.state, to: next.state };
      effects.record({ ...subject, action: 'user_updated', detail });
    }
  }
  if (write.deleted) {
    raiseMembershipHorizon(
      snapshot,
      next,
      'user',
      eventVersion(version.eventAt, eventId),
      eventId,
      effects,
    );
  }
  if (!nowActive) effects.revoke({ userId: next.id, eventId, reason });
  return 'applied';
}
