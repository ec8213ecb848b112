// A repaired deprovisioning (common/fail-closed.ts) lists the fields it dropped as
// invalid. Dropping must not erase what is stored: just before the event is applied,
// each dropped field takes the value of the record as it stands in the snapshot (so
// earlier events of the same batch count). A deprovisioning user event's own `state`
// is never taken from the record: an unreadable state is not active (fail closed).

import type { DirectoryEvent } from '../../common/events.ts';
import type { RepairedEvent } from '../../common/fail-closed.ts';
import type { GroupRecord, Snapshot, UserRecord } from './snapshot.ts';

type Json = Record<string, unknown>;

function userField(user: UserRecord, field: string): unknown {
  switch (field) {
    case 'role':
      return user.role === null ? null : { slug: user.role };
    case 'roles':
      return user.roles.map((slug) => ({ slug }));
    case 'directory_id':
    case 'idp_id':
    case 'email':
    case 'first_name':
    case 'last_name':
    case 'state':
    case 'custom_attributes':
      return user[field];
    default:
      return undefined;
  }
}

function groupField(group: GroupRecord, field: string): unknown {
  switch (field) {
    case 'directory_id':
    case 'idp_id':
    case 'name':
      return group[field];
    default:
      return undefined;
  }
}

/** Fills the dropped fields under `prefix` from `read`, when it knows them. */
function fill(
  target: Json,
  prefix: string,
  dropped: RepairedEvent['dropped'],
  read: (field: string) => unknown,
  except: ReadonlySet<string> = new Set(),
): Json {
  const next = { ...target };
  for (const { path } of dropped) {
    if (!path.startsWith(prefix)) continue;
    const field = path.slice(prefix.length);
    if (field.includes('.') || except.has(field)) continue;
    const stored = read(field);
    if (stored !== undefined) next[field] = stored;
  }
  return next;
}

const OWN_STATE = new Set(['state', 'created_at', 'updated_at']);

/** The event to apply: the repaired event with its dropped fields as stored. */
export function withStoredValues(snapshot: Snapshot, repaired: RepairedEvent): DirectoryEvent {
  const { event, dropped } = repaired;
  if (dropped.length === 0) return event;
  switch (event.event) {
    case 'dsync.user.created':
    case 'dsync.user.updated':
    case 'dsync.user.deleted': {
      const user = snapshot.users.get(event.data.id);
      if (!user) return event;
      const data = fill(event.data, 'data.', dropped, (f) => userField(user, f), OWN_STATE);
      return { ...event, data } as DirectoryEvent;
    }
    case 'dsync.group.user_removed': {
      const user = snapshot.users.get(event.data.user.id);
      const group = snapshot.groups.get(event.data.group.id);
      const data = { ...event.data } as Json;
      // The embedded user is a snapshot, not the deprovisioning: its stored state stays.
      if (user) data.user = fill(event.data.user, 'data.user.', dropped, (f) => userField(user, f));
      if (group) {
        data.group = fill(event.data.group, 'data.group.', dropped, (f) => groupField(group, f));
      }
      return { ...event, data } as DirectoryEvent;
    }
    case 'dsync.deleted': {
      const directory = snapshot.directories.get(event.data.id);
      if (!directory) return event;
      const data = fill(event.data, 'data.', dropped, (f) =>
        f === 'type' || f === 'name' ? directory[f] : undefined,
      );
      return { ...event, data } as DirectoryEvent;
    }
    default:
      return event;
  }
}
