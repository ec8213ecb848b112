// Builders of whole synthetic directories for tests and benchmarks: one org's users
// created, then memberships, with realistic WorkOS ids and timestamps.
import {
  directoryData,
  eventId,
  groupData,
  userData,
  type WireEvent,
  wireEvent,
} from './events.ts';

export interface DirectoryOptions {
  org: string;
  users: number;
  groups?: number;
  memberships?: number;
  start?: number;
}

export function initialSync(options: DirectoryOptions): WireEvent[] {
  const { org, users } = options;
  const groups = options.groups ?? 0;
  const memberships = options.memberships ?? 0;
  const directory = `directory_${org}`;
  let t = options.start ?? Date.UTC(2026, 9, 1);
  const events: WireEvent[] = [
    wireEvent(
      'dsync.activated',
      directoryData({ id: directory, org, updatedAt: t }),
      t,
      eventId(`event_${org}`),
    ),
  ];
  const user = (i: number) =>
    userData({ id: `directory_user_${org}_${i}`, org, directory, updatedAt: 1_000 + i });
  const group = (i: number) =>
    groupData({ id: `directory_group_${org}_${i}`, org, directory, updatedAt: 1_000 + i });
  for (let i = 0; i < users; i++)
    events.push(wireEvent('dsync.user.created', user(i), ++t, eventId(`event_${org}`)));
  for (let i = 0; i < groups; i++)
    events.push(wireEvent('dsync.group.created', group(i), ++t, eventId(`event_${org}`)));
  for (let i = 0; i < memberships && groups > 0; i++) {
    events.push(
      wireEvent(
        'dsync.group.user_added',
        { directory_id: directory, user: user(i % users), group: group(i % groups) },
        ++t,
        eventId(`event_${org}`),
      ),
    );
  }
  return events;
}

export function userDeleted(org: string, i: number, at: number): WireEvent {
  const directory = `directory_${org}`;
  return wireEvent(
    'dsync.user.deleted',
    userData({
      id: `directory_user_${org}_${i}`,
      org,
      directory,
      state: 'inactive',
      updatedAt: at,
    }),
    at,
    eventId(`event_${org}`),
  );
}
