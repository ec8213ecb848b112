// Building histories in the fake WorkOS: a small world for a test, or a long,
// realistic mix of directory events (users created and updated, groups, memberships,
// a few deletions, several organizations) for a benchmark. Deterministic for a seed.
import type { FakeWorkOSStore, WireEvent, WireGroup, WireUser } from './store.ts';

/** A small deterministic PRNG (mulberry32), so a seed always builds the same history. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface World {
  organizationId: string;
  directoryId: string;
  users: WireUser[];
  groups: WireGroup[];
  events: WireEvent[];
}

/** One organization with a directory, `users` users, `groups` groups, each user in one group. */
export function seedWorld(
  store: FakeWorkOSStore,
  organizationId: string,
  size: { users: number; groups: number },
): World {
  const events: WireEvent[] = [];
  const { directory, event } = store.createDirectory(organizationId, `${organizationId} directory`);
  events.push(event);
  const groups: WireGroup[] = [];
  for (let i = 0; i < size.groups; i++) {
    const created = store.createGroup(directory.id, `Group ${i}`);
    groups.push(created.group);
    events.push(created.event);
  }
  const users: WireUser[] = [];
  for (let i = 0; i < size.users; i++) {
    const created = store.createUser(directory.id);
    users.push(created.user);
    events.push(created.event);
    const group = groups[i % Math.max(1, groups.length)];
    if (group) events.push(store.addUserToGroup(created.user.id, group.id));
  }
  return { organizationId, directoryId: directory.id, users, groups, events };
}

/**
 * Appends `count` directory events spread over `organizations` organizations: mostly
 * users created and updated, group changes and memberships, a few deletions.
 */
export function seedHistory(
  store: FakeWorkOSStore,
  options: { count: number; organizations: number; seed?: number },
): void {
  const rand = random(options.seed ?? 1);
  const pick = <T>(items: readonly T[]): T | undefined =>
    items.length === 0 ? undefined : items[Math.floor(rand() * items.length)];
  const orgs = Array.from({ length: options.organizations }, (_, i) => {
    const organizationId = `org_bench_${String(i).padStart(3, '0')}`;
    const { directory } = store.createDirectory(organizationId, `Bench ${i}`);
    return { directoryId: directory.id, users: [] as string[], groups: [] as string[] };
  });
  const remove = (list: string[], id: string) => {
    const i = list.indexOf(id);
    if (i !== -1) list.splice(i, 1);
  };
  while (store.events.length < options.count) {
    const org = orgs[Math.floor(rand() * orgs.length)]!;
    const roll = rand();
    const user = pick(org.users);
    const group = pick(org.groups);
    if (org.groups.length < 3 || (roll < 0.03 && org.groups.length < 50)) {
      org.groups.push(store.createGroup(org.directoryId, `Team ${org.groups.length}`).group.id);
    } else if (roll < 0.4 || !user) {
      org.users.push(store.createUser(org.directoryId).user.id);
    } else if (roll < 0.65) {
      store.updateUser(user, {
        last_name: `Renamed${Math.floor(rand() * 1e6)}`,
        role: rand() < 0.1 ? 'admin' : 'member',
      });
    } else if (roll < 0.93 && group) {
      // Memberships mostly grow: a member is removed, anyone else is added.
      if (store.members.get(group)?.has(user)) store.removeUserFromGroup(user, group);
      else store.addUserToGroup(user, group);
    } else if (roll < 0.95 && group) {
      store.updateGroup(group, `Team ${Math.floor(rand() * 1e6)}`);
    } else if (roll < 0.985) {
      store.updateUser(user, { state: rand() < 0.5 ? 'inactive' : 'active' });
    } else if (roll < 0.997) {
      store.deleteUser(user);
      remove(org.users, user);
    } else if (group && org.groups.length > 3) {
      store.deleteGroup(group);
      remove(org.groups, group);
    }
  }
}
