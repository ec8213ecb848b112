// Applies one validated directory event to a snapshot: a pure function of the
// snapshot and the event (no I/O), so that ordering, idempotency and convergence can
// be checked for every input. Returns whether the event changed anything.
import type { DirectoryEvent } from '../../common/events.ts';
import { activateDirectory, deleteDirectory } from './apply-directory.ts';
import { writeGroup } from './apply-group.ts';
import { writeMembership } from './apply-membership.ts';
import { writeUser } from './apply-user.ts';
import type { Effects } from './effects.ts';
import type { Snapshot, Version } from './snapshot.ts';

export type ApplyOutcome = 'applied' | 'stale';

function sourceVersion(updatedAt: string, event: DirectoryEvent): Version {
  return { at: Date.parse(updatedAt), eventAt: Date.parse(event.created_at), eventId: event.id };
}

function embedded(updatedAt: string): Version {
  return { at: Date.parse(updatedAt), eventAt: 0, eventId: '' };
}

export function applyEvent(
  snapshot: Snapshot,
  event: DirectoryEvent,
  effects: Effects,
): ApplyOutcome {
  const eventId = event.id;
  switch (event.event) {
    case 'dsync.activated':
      return activateDirectory(
        snapshot,
        { data: event.data, version: sourceVersion(event.data.updated_at, event), eventId },
        effects,
      );
    case 'dsync.deleted':
      return deleteDirectory(
        snapshot,
        { data: event.data, version: sourceVersion(event.data.updated_at, event), eventId },
        effects,
      );
    case 'dsync.user.created':
    case 'dsync.user.updated':
    case 'dsync.user.deleted':
      return writeUser(
        snapshot,
        {
          data: event.data,
          version: sourceVersion(event.data.updated_at, event),
          deleted: event.event === 'dsync.user.deleted',
          eventId,
        },
        effects,
      );
    case 'dsync.group.created':
    case 'dsync.group.updated':
    case 'dsync.group.deleted':
      return writeGroup(
        snapshot,
        {
          data: event.data,
          version: sourceVersion(event.data.updated_at, event),
          deleted: event.event === 'dsync.group.deleted',
          eventId,
        },
        effects,
      );
    case 'dsync.group.user_added':
    case 'dsync.group.user_removed':
      return writeMembership(
        snapshot,
        {
          data: event.data,
          added: event.event === 'dsync.group.user_added',
          eventAt: Date.parse(event.created_at),
          eventId,
        },
        effects,
        (data) => {
          // Embedded snapshots lose ties to direct user and group events (event time
          // 0), so a membership event never outranks a deletion of the same moment.
          const user = {
            data: data.user,
            version: embedded(data.user.updated_at),
            deleted: false,
            eventId,
          };
          writeUser(snapshot, user, effects);
          const group = {
            data: data.group,
            version: embedded(data.group.updated_at),
            deleted: false,
            eventId,
          };
          writeGroup(snapshot, group, effects);
        },
      );
  }
}
