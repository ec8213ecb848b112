// The reconciler's diff, a pure function: which synthetic events it emits for each
// kind of drift, in which order, and that each one is a valid wire event.
import { describe, expect, it } from 'vitest';
import { parseEvent } from '../common/events.ts';
import { membershipKey } from '../worker/membership-key.ts';
import { diffOrganization } from '../worker/reconciler/diff.ts';
import type { UpstreamState, WireObject } from '../worker/reconciler/fetch-upstream.ts';
import type { LocalGroup, LocalState, LocalUser } from '../worker/reconciler/load-local.ts';

const ORG = 'org_diff';
const DIR = 'directory_diff';
/** When the upstream read began. */
const NOW = new Date('2026-11-22T08:00:00.000Z');
/** During the read: a write here after its page was read upstream. */
const DURING = new Date('2026-11-22T08:00:05.000Z');
const T1 = '2026-11-01T00:00:00.000Z';
const T2 = '2026-11-10T00:00:00.000Z';

function upstreamUser(id: string, patch: Record<string, unknown> = {}): WireObject {
  return {
    object: 'directory_user',
    id,
    directory_id: DIR,
    organization_id: ORG,
    idp_id: `idp_${id}`,
    email: `${id}@example.com`,
    first_name: 'Ada',
    last_name: 'Lovelace',
    state: 'active',
    custom_attributes: { department: 'Engineering', title: 'Engineer' },
    role: { slug: 'member' },
    roles: [{ slug: 'member' }],
    created_at: T1,
    updated_at: T1,
    ...patch,
  };
}

function upstreamGroup(id: string, patch: Record<string, unknown> = {}): WireObject {
  return {
    object: 'directory_group',
    id,
    idp_id: `idp_${id}`,
    directory_id: DIR,
    organization_id: ORG,
    name: `Group ${id}`,
    created_at: T1,
    updated_at: T1,
    raw_attributes: {},
    ...patch,
  };
}

function localUser(id: string, patch: Partial<LocalUser> = {}): LocalUser {
  return {
    id: `uuid_${id}`,
    directory_user_id: id,
    organization_id: ORG,
    directory_id: DIR,
    idp_id: `idp_${id}`,
    email: `${id}@example.com`,
    first_name: 'Ada',
    last_name: 'Lovelace',
    state: 'active',
    role: 'member',
    roles: ['member'],
    // Key order differs from upstream's on purpose: it must not count as a change.
    custom_attributes: { title: 'Engineer', department: 'Engineering' },
    source_updated_at: new Date(T1),
    source_event_at: new Date(T1),
    deleted_at: null,
    created_at: new Date(T1),
    ...patch,
  };
}

function localGroup(id: string, patch: Partial<LocalGroup> = {}): LocalGroup {
  return {
    id: `uuid_${id}`,
    directory_group_id: id,
    organization_id: ORG,
    directory_id: DIR,
    idp_id: `idp_${id}`,
    name: `Group ${id}`,
    source_updated_at: new Date(T1),
    source_event_at: new Date(T1),
    deleted_at: null,
    created_at: new Date(T1),
    ...patch,
  };
}

function world(options: {
  upstreamUsers?: WireObject[];
  upstreamGroups?: WireObject[];
  upstreamMembers?: Array<[string, string]>;
  localUsers?: LocalUser[];
  localGroups?: LocalGroup[];
  /** [group, user], or [group, user, source_event_at]. */
  localMembers?: Array<[string, string] | [string, string, Date]>;
  upstreamDirectory?: boolean;
  localDirectoryWrittenAt?: Date;
  localDirectoryState?: string;
}): { upstream: UpstreamState; local: LocalState } {
  const directory: WireObject = {
    object: 'directory',
    id: DIR,
    organization_id: ORG,
    type: 'okta scim v2.0',
    state: 'linked',
    name: 'Directory',
    domain: 'example.com',
    created_at: T1,
    updated_at: T1,
  };
  return {
    upstream: {
      directories: new Map(options.upstreamDirectory === false ? [] : [[DIR, directory]]),
      users: new Map((options.upstreamUsers ?? []).map((u) => [u.id, u])),
      groups: new Map((options.upstreamGroups ?? []).map((g) => [g.id, g])),
      memberships: new Set((options.upstreamMembers ?? []).map(([g, u]) => membershipKey(g, u))),
      embeddedGroups: new Map(),
      requests: 0,
    },
    local: {
      directories: new Map([
        [
          DIR,
          {
            id: DIR,
            organization_id: ORG,
            state: options.localDirectoryState ?? 'active',
            type: 'okta scim v2.0',
            name: 'Directory',
            source_updated_at: options.localDirectoryWrittenAt ?? new Date(T1),
            source_event_at: options.localDirectoryWrittenAt ?? new Date(T1),
            deleted_at: null,
            created_at: new Date(T1),
          },
        ],
      ]),
      users: new Map((options.localUsers ?? []).map((u) => [u.directory_user_id, u])),
      groups: new Map((options.localGroups ?? []).map((g) => [g.directory_group_id, g])),
      memberships: new Map(
        (options.localMembers ?? []).map(([g, u, at]) => [membershipKey(g, u), at ?? new Date(T1)]),
      ),
    },
  };
}

function diff(w: ReturnType<typeof world>) {
  let n = 0;
  return diffOrganization(
    ORG,
    w.upstream,
    w.local,
    NOW,
    () => `event_reconcile_${String(++n).padStart(4, '0')}`,
  );
}

describe('diffOrganization', () => {
  it('emits nothing when both sides agree (key order and the list state names aside)', () => {
    const result = diff(
      world({
        upstreamUsers: [upstreamUser('u1')],
        upstreamGroups: [upstreamGroup('g1')],
        upstreamMembers: [['g1', 'u1']],
        localUsers: [localUser('u1')],
        localGroups: [localGroup('g1')],
        localMembers: [['g1', 'u1']],
      }),
    );
    expect(result.events).toEqual([]);
    expect(result.upstream).toEqual({ directories: 1, users: 1, groups: 1, memberships: 1 });
  });

  it('orders its events: upserts, memberships added then removed, deletions last', () => {
    const result = diff(
      world({
        upstreamUsers: [
          upstreamUser('u1', { last_name: 'Byron', updated_at: T2 }),
          upstreamUser('u3'),
          upstreamUser('u4'),
        ],
        upstreamGroups: [upstreamGroup('g2')],
        upstreamMembers: [['g2', 'u1']],
        localUsers: [localUser('u1'), localUser('u2'), localUser('u4')],
        localGroups: [localGroup('g1'), localGroup('g2')],
        localMembers: [
          ['g2', 'u4'],
          ['g1', 'u1'],
          ['g2', 'u2'],
        ],
      }),
    );
    expect(result.events.map((e) => e.event)).toEqual([
      'dsync.user.updated', // u1
      'dsync.user.created', // u3
      'dsync.group.user_added', // g2 u1
      'dsync.group.user_removed', // g2 u4 (g1's and u2's end with their deletions)
      'dsync.user.deleted', // u2
      'dsync.group.deleted', // g1
    ]);
    const ids = result.events.map((e) => e.id);
    expect(ids).toEqual([...ids].sort());
    expect(result.changes[0]).toEqual({
      type: 'dsync.user.updated',
      subject: 'u1',
      fields: ['last_name'],
    });
    for (const event of result.events) {
      expect(event.created_at).toBe(NOW.toISOString());
      expect(parseEvent(event).kind).toBe('directory');
    }
  });

  it('builds a deletion from the stored row, dated when the read began, so it outranks every earlier write', () => {
    const result = diff(
      world({ localUsers: [localUser('u2', { email: null, role: null, roles: [] })] }),
    );
    expect(result.events).toHaveLength(1);
    const [deleted] = result.events;
    expect(deleted?.event).toBe('dsync.user.deleted');
    expect(deleted?.data).toMatchObject({
      id: 'u2',
      directory_id: DIR,
      organization_id: ORG,
      email: null,
      role: null,
      roles: [],
      updated_at: NOW.toISOString(),
    });
  });

  it('ends a directory gone upstream with one dsync.deleted, nothing per user or group', () => {
    const result = diff(
      world({
        upstreamDirectory: false,
        localUsers: [localUser('u1'), localUser('u2')],
        localGroups: [localGroup('g1')],
        localMembers: [['g1', 'u1']],
      }),
    );
    expect(result.events.map((e) => e.event)).toEqual(['dsync.deleted']);
    expect(result.events[0]?.data).toMatchObject({
      id: DIR,
      state: 'deleting',
      updated_at: NOW.toISOString(),
    });
  });

  it('records a directory missing locally, with the events state name', () => {
    const w = world({});
    w.local.directories.clear();
    const result = diff(w);
    expect(result.events.map((e) => e.event)).toEqual(['dsync.activated']);
    expect(result.events[0]?.data).toMatchObject({
      id: DIR,
      state: 'active',
      organization_id: ORG,
    });
    expect(result.events[0]?.data).not.toHaveProperty('domain');
  });

  it('revives a tombstone only with a newer upstream object; an older one is stale', () => {
    const tombstoned = (at: string) =>
      localUser('u1', {
        deleted_at: new Date(at),
        source_updated_at: new Date(at),
        state: 'inactive',
      });
    const newer = diff(
      world({
        upstreamUsers: [upstreamUser('u1', { updated_at: T2 })],
        localUsers: [tombstoned(T1)],
      }),
    );
    expect(newer.events.map((e) => e.event)).toEqual(['dsync.user.created']);

    const older = diff(
      world({
        upstreamUsers: [upstreamUser('u1')],
        upstreamGroups: [upstreamGroup('g1')],
        upstreamMembers: [['g1', 'u1']],
        localUsers: [tombstoned(T2)],
        localGroups: [localGroup('g1')],
      }),
    );
    expect(older.events).toEqual([]);
    expect(older.stale).toBe(1);
  });

  it('fills an organization_id the list left empty', () => {
    const result = diff(world({ upstreamUsers: [upstreamUser('u9', { organization_id: null })] }));
    expect(result.events[0]?.data.organization_id).toBe(ORG);
    expect(parseEvent(result.events[0]).kind).toBe('directory');
  });

  it('sees a user turned inactive upstream as an update (the drain deprovisions)', () => {
    const result = diff(
      world({
        upstreamUsers: [upstreamUser('u1', { state: 'inactive', updated_at: T2 })],
        localUsers: [localUser('u1')],
      }),
    );
    expect(result.changes).toEqual([
      { type: 'dsync.user.updated', subject: 'u1', fields: ['state'] },
    ]);
  });

  it('leaves alone what was written here after the read began: it may be newer than the read', () => {
    // Created (or joined) upstream after its page was read; its webhook was applied
    // before the local snapshot. Not upstream in the read, yet not gone.
    const result = diff(
      world({
        upstreamUsers: [upstreamUser('u1')],
        upstreamGroups: [upstreamGroup('g1')],
        localUsers: [
          localUser('u1'),
          localUser('u_new', { source_updated_at: DURING, source_event_at: DURING }),
          // Its own updated_at is old, but an event wrote it during the read.
          localUser('u_moved', { source_event_at: DURING }),
          localUser('u_gone'),
        ],
        localGroups: [
          localGroup('g1'),
          localGroup('g_new', { source_updated_at: DURING, source_event_at: DURING }),
        ],
        localMembers: [['g1', 'u1', DURING]],
      }),
    );
    expect(result.changes).toEqual([{ type: 'dsync.user.deleted', subject: 'u_gone' }]);
    expect(result.deferred).toBe(4);
    expect(result.events[0]?.data.updated_at).toBe(NOW.toISOString());
  });

  it('leaves alone a directory written here after the read began, and never deletes its users one by one', () => {
    const result = diff(
      world({
        upstreamDirectory: false,
        localDirectoryWrittenAt: DURING,
        localUsers: [localUser('u1')],
        localGroups: [localGroup('g1')],
        localMembers: [['g1', 'u1']],
      }),
    );
    expect(result.events).toEqual([]);
    expect(result.deferred).toBe(1);
  });

  it('still removes a membership written before the read began', () => {
    const result = diff(
      world({
        upstreamUsers: [upstreamUser('u1')],
        upstreamGroups: [upstreamGroup('g1'), upstreamGroup('g2')],
        upstreamMembers: [['g1', 'u1']],
        localUsers: [localUser('u1')],
        localGroups: [localGroup('g1'), localGroup('g2')],
        localMembers: [
          ['g1', 'u1'],
          ['g2', 'u1'],
        ],
      }),
    );
    expect(result.changes).toEqual([{ type: 'dsync.group.user_removed', subject: 'g2:u1' }]);
    expect(result.events[0]?.created_at).toBe(NOW.toISOString());
    expect(result.deferred).toBe(0);
  });
});
