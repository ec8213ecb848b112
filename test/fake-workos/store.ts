// The fake WorkOS's in-memory world: directories, their users and groups, and the
// event stream. Every change goes through a method that updates the state and
// appends the event WorkOS would emit, in WorkOS's wire shape (see
// /work/shared/fixtures/workos), so the state API and the Events API agree, as
// they do upstream. Tests take the returned event to deliver it as a webhook, or
// "lose" it by not delivering it.
import { createUlidFactory } from '../../worker/workos/ulid.ts';

export interface WireEvent {
  object: 'event';
  id: string;
  event: string;
  data: Record<string, unknown>;
  created_at: string;
  context: Record<string, unknown>;
}

export interface WireDirectory {
  object: 'directory';
  id: string;
  organization_id: string;
  external_key: string;
  type: string;
  /** The list API's state: `linked` is the events' `active`. */
  state: 'linked' | 'unlinked';
  name: string;
  domain: string;
  created_at: string;
  updated_at: string;
}

export interface WireGroup {
  object: 'directory_group';
  id: string;
  idp_id: string;
  directory_id: string;
  organization_id: string;
  name: string;
  created_at: string;
  updated_at: string;
  raw_attributes: Record<string, unknown>;
}

export interface WireUser {
  object: 'directory_user';
  id: string;
  directory_id: string;
  organization_id: string;
  idp_id: string;
  email: string;
  first_name: string;
  last_name: string;
  state: 'active' | 'inactive';
  raw_attributes: Record<string, unknown>;
  custom_attributes: Record<string, unknown>;
  role: { slug: string };
  roles: Array<{ slug: string }>;
  created_at: string;
  updated_at: string;
}

export type UserPatch = Partial<
  Pick<WireUser, 'email' | 'first_name' | 'last_name' | 'state' | 'custom_attributes'>
> & { role?: string };

export interface FakeStoreOptions {
  /** The clock of the fake world (ms); seeding a long history moves it by hand. */
  now?: () => number;
}

export class FakeWorkOSStore {
  readonly directories = new Map<string, WireDirectory>();
  readonly users = new Map<string, WireUser>();
  readonly groups = new Map<string, WireGroup>();
  /** group id → member user ids. */
  readonly members = new Map<string, Set<string>>();
  /** Every event, in id order (which is time order). */
  readonly events: WireEvent[] = [];
  readonly eventIndex = new Map<string, number>();
  private readonly ulid = createUlidFactory();
  private readonly now: () => number;
  private seq = 0;

  constructor(options: FakeStoreOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  private id(prefix: string, at: number): string {
    return `${prefix}_${this.ulid(at)}`;
  }

  /** Appends an event as it is (also an invalid one: tests use that). */
  appendEvent(event: WireEvent): WireEvent {
    this.eventIndex.set(event.id, this.events.length);
    this.events.push(event);
    return event;
  }

  /**
   * Drops the events older than `before` from the stream, as the API's retention
   * does (the state stays): an `after` naming one of them is then refused.
   */
  expireEvents(before: number): number {
    const kept = this.events.filter((e) => Date.parse(e.created_at) >= before);
    const expired = this.events.length - kept.length;
    this.events.splice(0, this.events.length, ...kept);
    this.eventIndex.clear();
    for (const [i, e] of kept.entries()) this.eventIndex.set(e.id, i);
    return expired;
  }

  private emit(type: string, data: object, at: number): WireEvent {
    return this.appendEvent({
      object: 'event',
      id: this.id('event', at),
      event: type,
      data: structuredClone(data) as Record<string, unknown>,
      created_at: new Date(at).toISOString(),
      context: {},
    });
  }

  private directoryEventData(d: WireDirectory, state: string) {
    const { domain: _domain, ...rest } = d;
    return { ...rest, state, domains: [] };
  }

  createDirectory(
    organizationId: string,
    name = 'Directory',
  ): { directory: WireDirectory; event: WireEvent } {
    const at = this.now();
    const iso = new Date(at).toISOString();
    const directory: WireDirectory = {
      object: 'directory',
      id: this.id('directory', at),
      organization_id: organizationId,
      external_key: `key_${++this.seq}`,
      type: 'okta scim v2.0',
      state: 'linked',
      name,
      domain: `${organizationId.toLowerCase()}.example.com`,
      created_at: iso,
      updated_at: iso,
    };
    this.directories.set(directory.id, directory);
    const event = this.emit('dsync.activated', this.directoryEventData(directory, 'active'), at);
    return { directory, event };
  }

  /** Deletes a directory with everything in it; WorkOS emits only dsync.deleted. */
  deleteDirectory(directoryId: string): WireEvent {
    const directory = this.must(this.directories, directoryId);
    const at = this.now();
    directory.updated_at = new Date(at).toISOString();
    this.directories.delete(directoryId);
    for (const [id, user] of this.users)
      if (user.directory_id === directoryId) this.users.delete(id);
    for (const [id, group] of this.groups) {
      if (group.directory_id === directoryId) {
        this.groups.delete(id);
        this.members.delete(id);
      }
    }
    return this.emit('dsync.deleted', this.directoryEventData(directory, 'deleting'), at);
  }

  createUser(directoryId: string, patch: UserPatch = {}): { user: WireUser; event: WireEvent } {
    const directory = this.must(this.directories, directoryId);
    const at = this.now();
    const iso = new Date(at).toISOString();
    const n = ++this.seq;
    const role = patch.role ?? 'member';
    const user: WireUser = {
      object: 'directory_user',
      id: this.id('directory_user', at),
      directory_id: directoryId,
      organization_id: directory.organization_id,
      idp_id: `idp_user_${n}`,
      email: patch.email ?? `user${n}@example.com`,
      first_name: patch.first_name ?? `First${n}`,
      last_name: patch.last_name ?? `Last${n}`,
      state: patch.state ?? 'active',
      raw_attributes: {},
      custom_attributes: patch.custom_attributes ?? { department: 'Engineering' },
      role: { slug: role },
      roles: [{ slug: role }],
      created_at: iso,
      updated_at: iso,
    };
    this.users.set(user.id, user);
    return { user, event: this.emit('dsync.user.created', user, at) };
  }

  updateUser(userId: string, patch: UserPatch): WireEvent {
    const user = this.must(this.users, userId);
    const at = this.now();
    const { role, ...fields } = patch;
    const previous: Record<string, unknown> = {};
    for (const key of Object.keys(fields) as Array<keyof typeof fields>) previous[key] = user[key];
    Object.assign(user, fields);
    if (role !== undefined) {
      previous.role = user.role;
      user.role = { slug: role };
      user.roles = [{ slug: role }];
    }
    user.updated_at = new Date(at).toISOString();
    return this.emit('dsync.user.updated', { ...user, previous_attributes: previous }, at);
  }

  deleteUser(userId: string): WireEvent {
    const user = this.must(this.users, userId);
    const at = this.now();
    this.users.delete(userId);
    for (const set of this.members.values()) set.delete(userId);
    return this.emit(
      'dsync.user.deleted',
      { ...user, state: 'inactive', updated_at: new Date(at).toISOString() },
      at,
    );
  }

  createGroup(directoryId: string, name = 'Group'): { group: WireGroup; event: WireEvent } {
    const directory = this.must(this.directories, directoryId);
    const at = this.now();
    const iso = new Date(at).toISOString();
    const group: WireGroup = {
      object: 'directory_group',
      id: this.id('directory_group', at),
      idp_id: `idp_group_${++this.seq}`,
      directory_id: directoryId,
      organization_id: directory.organization_id,
      name,
      created_at: iso,
      updated_at: iso,
      raw_attributes: {},
    };
    this.groups.set(group.id, group);
    this.members.set(group.id, new Set());
    return { group, event: this.emit('dsync.group.created', group, at) };
  }

  updateGroup(groupId: string, name: string): WireEvent {
    const group = this.must(this.groups, groupId);
    const at = this.now();
    const previous = { name: group.name };
    group.name = name;
    group.updated_at = new Date(at).toISOString();
    return this.emit('dsync.group.updated', { ...group, previous_attributes: previous }, at);
  }

  deleteGroup(groupId: string): WireEvent {
    const group = this.must(this.groups, groupId);
    const at = this.now();
    this.groups.delete(groupId);
    this.members.delete(groupId);
    return this.emit(
      'dsync.group.deleted',
      { ...group, updated_at: new Date(at).toISOString() },
      at,
    );
  }

  addUserToGroup(userId: string, groupId: string): WireEvent {
    const user = this.must(this.users, userId);
    const group = this.must(this.groups, groupId);
    this.members.get(groupId)!.add(userId);
    return this.emit(
      'dsync.group.user_added',
      { directory_id: group.directory_id, user, group },
      this.now(),
    );
  }

  removeUserFromGroup(userId: string, groupId: string): WireEvent {
    const user = this.must(this.users, userId);
    const group = this.must(this.groups, groupId);
    this.members.get(groupId)!.delete(userId);
    return this.emit(
      'dsync.group.user_removed',
      { directory_id: group.directory_id, user, group },
      this.now(),
    );
  }

  /** The groups a user belongs to, as `/directory_users` embeds them. */
  groupsOf(userId: string): WireGroup[] {
    const out: WireGroup[] = [];
    for (const [groupId, set] of this.members) {
      if (set.has(userId)) out.push(this.groups.get(groupId)!);
    }
    return out;
  }

  private must<T>(map: Map<string, T>, id: string): T {
    const value = map.get(id);
    if (!value) throw new Error(`fake workos: no ${id}`);
    return value;
  }
}
