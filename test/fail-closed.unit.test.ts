// The pure parts of fail closed: making a value storable, telling a readable
// deprovisioning, and repairing one field by field.
import { describe, expect, it } from 'vitest';
import { isReadableDeprovisioning, repairDeprovisioning } from '../common/fail-closed.ts';
import { MAX_DEPTH, makeStorable } from '../common/storable.ts';
import { userData, wireEvent } from './support/events.ts';

describe('makeStorable', () => {
  it('returns a storable value as it is, without copying it', () => {
    const value = { a: ['x', 1, null, { b: true }], c: 'ünïcødé 😀' };
    const result = makeStorable(value);
    expect(result.value).toBe(value);
    expect(result.alterations).toEqual([]);
  });

  it('replaces NUL and lone surrogates in values and keys, naming each path', () => {
    const result = makeStorable({ a: ['ok', 'x\u0000y'], 'k\ud800': { z: '\udc00' } });
    expect(result.value).toEqual({ a: ['ok', 'x\uFFFDy'], 'k\uFFFD': { z: '\uFFFD' } });
    expect(result.alterations).toEqual([
      { path: 'a.1', change: 'replaced_unstorable_characters' },
      { path: 'k\uFFFD', change: 'replaced_unstorable_characters' },
      { path: 'k\uFFFD.z', change: 'replaced_unstorable_characters' },
    ]);
  });

  it('keeps a well-formed surrogate pair', () => {
    expect(makeStorable({ e: '\ud83d\ude00' }).alterations).toEqual([]);
  });

  it('cuts nesting deeper than MAX_DEPTH, and does not recurse past it', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const result = makeStorable({ keep: { x: 1 }, deep });
    expect(result.value.keep).toEqual({ x: 1 });
    expect(result.alterations).toHaveLength(1);
    expect(result.alterations[0]?.change).toBe('removed_deep_nesting');
    expect(result.alterations[0]?.path.split('.')).toHaveLength(MAX_DEPTH);
  });

  it('replaces numbers beyond a double (Infinity once decoded)', () => {
    const result = makeStorable(JSON.parse('{"n":1e400000,"m":-1e400000,"k":12}'));
    expect(result.value).toEqual({ n: null, m: null, k: 12 });
  });
});

const user = (overrides: Record<string, unknown>) => ({
  ...userData({ id: 'du_1', org: 'org_1', directory: 'dir_1', updatedAt: 1_000 }),
  ...overrides,
});

describe('isReadableDeprovisioning', () => {
  it.each([
    ['a deletion', 'dsync.user.deleted', user({ email: 42 }), true],
    ['a state other than active', 'dsync.user.updated', user({ state: 'suspended' }), true],
    ['a mistyped state', 'dsync.user.updated', user({ state: 0 }), true],
    ['a missing state', 'dsync.user.created', user({ state: undefined }), true],
    ['an active user', 'dsync.user.updated', user({ email: 42 }), false],
    ['an unreadable user id', 'dsync.user.deleted', user({ id: 7 }), false],
    ['no organization', 'dsync.user.deleted', user({ organization_id: null }), false],
    ['a group update', 'dsync.group.updated', { id: 'g', organization_id: 'org_1' }, false],
  ] as const)('%s: %s', (_what, type, data, expected) => {
    const event = wireEvent(type, data as Record<string, unknown>, 2_000);
    expect(isReadableDeprovisioning(event)).toBe(expected);
  });
});

describe('repairDeprovisioning', () => {
  it('keeps each valid field, replaces and lists each invalid one', () => {
    const event = wireEvent(
      'dsync.user.updated',
      user({ state: 17, email: ['x'], first_name: 'Ada', updated_at: 'soon' }),
      2_000,
      'ev_1',
    );
    const repaired = repairDeprovisioning(event, new Date(3_000));
    expect(repaired?.event.data).toMatchObject({
      id: 'du_1',
      organization_id: 'org_1',
      state: 'inactive',
      email: null,
      first_name: 'Ada',
      updated_at: new Date(2_000).toISOString(),
    });
    expect(repaired?.dropped.map((d) => d.path)).toEqual([
      'data.email',
      'data.state',
      'data.updated_at',
    ]);
  });

  it('dates the event by its inbox row when its own time is unreadable', () => {
    const event = { ...wireEvent('dsync.user.deleted', user({}), 2_000), created_at: 5 };
    const repaired = repairDeprovisioning(event, new Date(3_000));
    expect(repaired?.event.created_at).toBe(new Date(3_000).toISOString());
    expect(repaired?.dropped.map((d) => d.path)).toEqual(['created_at']);
  });

  it('refuses what is not a readable deprovisioning', () => {
    const event = wireEvent('dsync.user.updated', user({ email: 42 }), 2_000);
    expect(repairDeprovisioning(event, new Date())).toBeNull();
  });
});
