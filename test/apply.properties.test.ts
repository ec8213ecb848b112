// Properties of the pure appliers, for every random directory history: applied in
// order they reproduce the identity provider's state; delivered in any order, with
// duplicates, they end in exactly the same state (idempotent and convergent).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEvent } from '../common/events.ts';
import type { DeprovisionPolicy } from '../db/tables/organizations.table.ts';
import { applyEvent } from '../worker/apply/apply-event.ts';
import { Effects } from '../worker/apply/effects.ts';
import { emptySnapshot, isEffectivelyActive, type Snapshot } from '../worker/apply/snapshot.ts';
import type { WireEvent } from './support/events.ts';
import {
  deliver,
  deliveryArbitrary,
  historyArbitrary,
  renderHistory,
} from './support/histories.ts';
import { projectSnapshot } from './support/projection.ts';

const ORG = 'org_property';
const PREFIX = 'p_';

function applyAll(events: readonly WireEvent[], policy: DeprovisionPolicy) {
  const snapshot = emptySnapshot(ORG, policy);
  const effects = new Effects();
  for (const wire of events) {
    const parsed = parseEvent(wire);
    if (parsed.kind === 'directory') applyEvent(snapshot, parsed.event, effects);
  }
  return { snapshot, effects };
}

const policyArbitrary = fc.constantFrom<DeprovisionPolicy>('soft', 'hard');

function inactiveUserIds(snapshot: Snapshot): Set<string> {
  return new Set(
    [...snapshot.users.values()].filter((u) => !isEffectivelyActive(u)).map((u) => u.id),
  );
}

describe('apply properties', () => {
  it('applied in order, events reproduce the provider state', () => {
    fc.assert(
      fc.property(historyArbitrary, policyArbitrary, (ops, policy) => {
        const { events, expected } = renderHistory(ops, ORG, PREFIX);
        const state = projectSnapshot(applyAll(events, policy).snapshot, PREFIX);
        for (const [key, want] of expected.users) {
          const got = state.users[key]!;
          expect(got.deleted).toBe(want.deleted);
          expect(got.state === 'active' && !got.deleted).toBe(want.active);
          if (!want.deleted)
            expect({ lastName: got.lastName, role: got.role }).toEqual({
              lastName: want.lastName,
              role: want.role,
            });
          if (want.deleted && policy === 'hard')
            expect({ lastName: got.lastName, email: got.email }).toEqual({
              lastName: null,
              email: null,
            });
        }
        expect(Object.keys(state.users).sort()).toEqual([...expected.users.keys()].sort());
        for (const [key, want] of expected.groups) {
          expect(state.groups[key]!.deleted).toBe(want.deleted);
          if (!want.deleted) expect(state.groups[key]!.name).toBe(want.name);
        }
        expect(state.memberships).toEqual([...expected.memberships].sort());
      }),
      { numRuns: 500 },
    );
  });

  it('any order, with duplicates, converges on the in-order state', () => {
    fc.assert(
      fc.property(
        historyArbitrary.chain((ops) => {
          const { events } = renderHistory(ops, ORG, PREFIX);
          return fc.tuple(fc.constant(events), deliveryArbitrary(events.length), policyArbitrary);
        }),
        ([events, delivery, policy]) => {
          const inOrder = applyAll(events, policy);
          const shuffled = applyAll(deliver(events, delivery), policy);
          expect(projectSnapshot(shuffled.snapshot, PREFIX)).toEqual(
            projectSnapshot(inOrder.snapshot, PREFIX),
          );
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('every user who ends deprovisioned had a revocation issued, whatever the order', () => {
    fc.assert(
      fc.property(
        historyArbitrary.chain((ops) => {
          const { events } = renderHistory(ops, ORG, PREFIX);
          return fc.tuple(fc.constant(events), deliveryArbitrary(events.length));
        }),
        ([events, delivery]) => {
          const { snapshot, effects } = applyAll(deliver(events, delivery), 'soft');
          for (const id of inactiveUserIds(snapshot))
            expect(effects.revocations.has(id)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('applying a history twice changes nothing and audits nothing the second time', () => {
    fc.assert(
      fc.property(historyArbitrary, (ops) => {
        const { events } = renderHistory(ops, ORG, PREFIX);
        const { snapshot } = applyAll(events, 'soft');
        const before = projectSnapshot(snapshot, PREFIX);
        const again = new Effects();
        for (const wire of events) {
          const parsed = parseEvent(wire);
          if (parsed.kind === 'directory')
            expect(applyEvent(snapshot, parsed.event, again)).toBe('stale');
        }
        expect(projectSnapshot(snapshot, PREFIX)).toEqual(before);
        expect(again.audit).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
