// The in-memory state a batch of one organization's events is applied to: the rows
// those events touch, loaded in a few queries, changed by the pure appliers, then
// written back in a few multi-row statements. Keys are WorkOS ids for users, groups
// and directories, and "<group uuid>:<user uuid>" for memberships.
import type { Directory } from '../../db/tables/directories.table.ts';
import type { GroupMembership } from '../../db/tables/group-memberships.table.ts';
import type { Group } from '../../db/tables/groups.table.ts';
import type { DeprovisionPolicy } from '../../db/tables/organizations.table.ts';
import type { User } from '../../db/tables/users.table.ts';

export type DirectoryRecord = Omit<Directory, 'created_at'>;
export type UserRecord = Omit<User, 'created_at' | 'updated_at'>;
export type GroupRecord = Omit<Group, 'created_at' | 'updated_at'>;
export type MembershipRecord = GroupMembership;

export interface Snapshot {
  organizationId: string;
  policy: DeprovisionPolicy;
  directories: Map<string, DirectoryRecord>;
  users: Map<string, UserRecord>;
  groups: Map<string, GroupRecord>;
  memberships: Map<string, MembershipRecord>;
  /** What changed, by key, to be written back. */
  dirty: {
    directories: Set<string>;
    users: Set<string>;
    groups: Set<string>;
    memberships: Set<string>;
  };
}

export function emptySnapshot(organizationId: string, policy: DeprovisionPolicy): Snapshot {
  return {
    organizationId,
    policy,
    directories: new Map(),
    users: new Map(),
    groups: new Map(),
    memberships: new Map(),
    dirty: { directories: new Set(), users: new Set(), groups: new Set(), memberships: new Set() },
  };
}

/**
 * The order of writes to one entity: the source's updated_at, then the event's
 * time, then the event id. A write lands only when its version is greater, so any
 * delivery order ends in the state of the greatest write (last writer wins).
 */
export interface Version {
  at: number;
  eventAt: number;
  eventId: string;
}

export function compareVersions(a: Version, b: Version): number {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  if (a.eventAt !== b.eventAt) return a.eventAt < b.eventAt ? -1 : 1;
  if (a.eventId === b.eventId) return 0;
  return a.eventId < b.eventId ? -1 : 1;
}

type Versioned = { source_updated_at: Date; source_event_at: Date; source_event_id: string };

export function versionOf(row: Versioned): Version {
  return {
    at: row.source_updated_at.getTime(),
    eventAt: row.source_event_at.getTime(),
    eventId: row.source_event_id,
  };
}

/** Memberships are ordered by event time, then event id. */
export function eventVersion(eventAt: number, eventId: string): Version {
  return { at: eventAt, eventAt, eventId };
}

/** A deleted directory's tombstone, as it orders against membership events. */
export function directoryMembershipTombstone(
  directory: DirectoryRecord | undefined,
): Version | undefined {
  return directory?.deleted_at
    ? eventVersion(directory.source_event_at.getTime(), directory.source_event_id)
    : undefined;
}

export function isEffectivelyActive(
  user: Pick<UserRecord, 'state' | 'deleted_at'> | undefined,
): boolean {
  return user !== undefined && user.deleted_at === null && user.state === 'active';
}
