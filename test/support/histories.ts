// Random directory histories for property tests. A small simulated identity provider
// (users, groups, memberships of one directory) goes through random operations;
// each operation emits the WorkOS event it would send, carrying the entity's state
// at that moment. Applying the events in order must end in the provider's state.
import fc from 'fast-check';
import type { DirectoryEventType } from '../../common/events.ts';
import { directoryData, groupData, userData, type WireEvent, wireEvent } from './events.ts';

export type Op =
  | {
      kind: 'user';
      user: number;
      action: 'upsert' | 'delete';
      state: 'active' | 'inactive';
      name: number;
      role: number;
    }
  | { kind: 'group'; group: number; action: 'upsert' | 'delete'; name: number }
  | { kind: 'membership'; user: number; group: number; add: boolean }
  /**
   * `stale`: the deletion carries the directory's last change time, older than
   * recent user and group changes (versions from different clocks).
   */
  | { kind: 'directory-delete'; stale: boolean };

const USERS = 4;
const GROUPS = 2;

export const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('user' as const),
      user: fc.nat(USERS - 1),
      action: fc.constantFrom('upsert' as const, 'upsert' as const, 'delete' as const),
      state: fc.constantFrom('active' as const, 'active' as const, 'inactive' as const),
      name: fc.nat(3),
      role: fc.nat(2),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('group' as const),
      group: fc.nat(GROUPS - 1),
      action: fc.constantFrom('upsert' as const, 'upsert' as const, 'delete' as const),
      name: fc.nat(3),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('membership' as const),
      user: fc.nat(USERS - 1),
      group: fc.nat(GROUPS - 1),
      add: fc.boolean(),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('directory-delete' as const), stale: fc.boolean() }),
    weight: 1,
  },
);

export const historyArbitrary = fc.array(opArbitrary, { minLength: 1, maxLength: 40 });

export interface Expected {
  users: Map<string, { active: boolean; deleted: boolean; lastName: string; role: string }>;
  groups: Map<string, { deleted: boolean; name: string }>;
  memberships: Set<string>;
}

/**
 * Renders a history as WorkOS events for organization `org`, with every id prefixed
 * by `prefix` (so one history can be applied twice side by side), and the state the
 * provider ends in.
 */
export function renderHistory(
  ops: readonly Op[],
  org: string,
  prefix: string,
  start = Date.UTC(2026, 8, 1),
) {
  const directory = `${prefix}directory`;
  const events: WireEvent[] = [];
  const users = new Map<
    number,
    {
      updatedAt: number;
      state: 'active' | 'inactive';
      name: number;
      role: number;
      deleted: boolean;
    }
  >();
  const groups = new Map<number, { updatedAt: number; name: number; deleted: boolean }>();
  const members = new Set<string>();
  let t = start;
  let directoryDeleted = false;
  // Events already on their way when the directory is deleted still arrive.
  let inFlight = 0;
  const emit = (type: DirectoryEventType, data: Record<string, unknown>) => {
    events.push(
      wireEvent(type, data, t + 7, `${prefix}event_${String(events.length).padStart(4, '0')}`),
    );
  };
  const userPayload = (i: number) => {
    const u = users.get(i)!;
    return userData({
      id: `${prefix}user_${i}`,
      org,
      directory,
      state: u.state,
      lastName: `Name${u.name}`,
      role: `role${u.role}`,
      updatedAt: u.updatedAt,
    });
  };
  const groupPayload = (i: number) => {
    const g = groups.get(i)!;
    return groupData({
      id: `${prefix}group_${i}`,
      org,
      directory,
      name: `Group${g.name}`,
      updatedAt: g.updatedAt,
    });
  };

  emit('dsync.activated', directoryData({ id: directory, org, updatedAt: t }));
  for (const op of ops) {
    t += 1000;
    if (directoryDeleted && ++inFlight > 3) break; // then nothing more for this directory
    if (op.kind === 'user') {
      const existing = users.get(op.user);
      if (op.action === 'delete') {
        if (!existing || existing.deleted) continue;
        users.set(op.user, { ...existing, updatedAt: t, state: 'inactive', deleted: true });
        emit('dsync.user.deleted', userPayload(op.user));
        for (const key of [...members]) if (key.endsWith(`|${op.user}`)) members.delete(key);
        continue;
      }
      const created = !existing || existing.deleted;
      users.set(op.user, {
        updatedAt: t,
        state: op.state,
        name: op.name,
        role: op.role,
        deleted: false,
      });
      emit(created ? 'dsync.user.created' : 'dsync.user.updated', userPayload(op.user));
    } else if (op.kind === 'group') {
      const existing = groups.get(op.group);
      if (op.action === 'delete') {
        if (!existing || existing.deleted) continue;
        groups.set(op.group, { ...existing, updatedAt: t, deleted: true });
        emit('dsync.group.deleted', groupPayload(op.group));
        for (const key of [...members]) if (key.startsWith(`${op.group}|`)) members.delete(key);
        continue;
      }
      const created = !existing || existing.deleted;
      groups.set(op.group, { updatedAt: t, name: op.name, deleted: false });
      emit(created ? 'dsync.group.created' : 'dsync.group.updated', groupPayload(op.group));
    } else if (op.kind === 'membership') {
      const u = users.get(op.user);
      const g = groups.get(op.group);
      if (!u || u.deleted || !g || g.deleted) continue;
      const key = `${op.group}|${op.user}`;
      if (op.add === members.has(key)) continue;
      if (op.add) members.add(key);
      else members.delete(key);
      emit(op.add ? 'dsync.group.user_added' : 'dsync.group.user_removed', {
        directory_id: directory,
        user: userPayload(op.user),
        group: groupPayload(op.group),
      });
    } else {
      if (directoryDeleted) continue;
      directoryDeleted = true;
      const updatedAt = op.stale ? start : t;
      emit('dsync.deleted', directoryData({ id: directory, org, updatedAt, state: 'deleting' }));
    }
  }

  const expected: Expected = { users: new Map(), groups: new Map(), memberships: new Set() };
  for (const [i, u] of users) {
    const deleted = u.deleted || directoryDeleted;
    expected.users.set(`user_${i}`, {
      active: !deleted && u.state === 'active',
      deleted,
      lastName: `Name${u.name}`,
      role: `role${u.role}`,
    });
  }
  for (const [i, g] of groups) {
    expected.groups.set(`group_${i}`, {
      deleted: g.deleted || directoryDeleted,
      name: `Group${g.name}`,
    });
  }
  if (!directoryDeleted)
    for (const key of members) {
      const [g, u] = key.split('|');
      expected.memberships.add(`group_${g}|user_${u}`);
    }
  return { events, expected };
}

/**
 * A delivery of `events`: shuffled, with some delivered again, each at a random
 * place of the delivery (`[event, position]`).
 */
export const deliveryArbitrary = (count: number) =>
  fc.record({
    order: fc.shuffledSubarray([...Array(count).keys()], { minLength: count, maxLength: count }),
    duplicates: fc.array(fc.tuple(fc.nat(Math.max(0, count - 1)), fc.nat(count)), {
      maxLength: Math.min(10, count),
    }),
  });

export type Delivery = { order: number[]; duplicates: Array<[number, number]> };

/** The events in the order a delivery gives them, duplicates in their places. */
export function deliver<E>(events: readonly E[], delivery: Delivery): E[] {
  const out = delivery.order.map((i) => events[i]!);
  for (const [event, position] of delivery.duplicates)
    out.splice(Math.min(position, out.length), 0, events[event]!);
  return out;
}
