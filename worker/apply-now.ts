// The SCIM API's in-process drain: runs the organization's ordinary drain (same
// order, lock, appliers, revocation and audit) at once, instead of waiting for a
// BullMQ trigger. Calls for one organization coalesce: while a drain runs, every
// caller that arrives waits for one more drain after it, which picks up all their
// events in a batch, so concurrent SCIM requests share transactions.

import type { Resources } from '../common/resources.ts';
import type { ApplyInTransaction, ApplyNow, ApplyOutcome } from '../common/scim/apply-now.ts';
import { applyInTransaction } from './drain/apply-in-transaction.ts';
import { drainOrganization } from './drain/drain-organization.ts';

interface Slot {
  running?: Promise<ApplyOutcome>;
  next?: Promise<ApplyOutcome>;
}

export function createApplyNow(
  resources: Pick<Resources, 'db' | 'redis' | 'drainQueue' | 'metrics' | 'config' | 'logger'>,
): ApplyNow {
  const slots = new Map<string, Slot>();
  const log = resources.logger.child({ component: 'scim-apply' });

  async function drain(organizationId: string): Promise<ApplyOutcome> {
    try {
      const result = await drainOrganization(resources, organizationId, {
        log: log.child({ orgId: organizationId }),
        // A long backlog is handed to the queue after a while (the callers wait for
        // their own events, whoever applies them).
        yieldAfterMs: 2_000,
      });
      return result.paused ? 'paused' : 'done';
    } catch (err) {
      if ((err as Error).name === 'OrganizationBusyError') return 'busy';
      throw err;
    }
  }

  function start(organizationId: string, slot: Slot): Promise<ApplyOutcome> {
    const running = drain(organizationId).finally(() => {
      if (slot.running === running) slot.running = undefined;
      if (!slot.running && !slot.next) slots.delete(organizationId);
    });
    slot.running = running;
    return running;
  }

  return (organizationId) => {
    let slot = slots.get(organizationId);
    if (!slot) {
      slot = {};
      slots.set(organizationId, slot);
    }
    if (!slot.running) return start(organizationId, slot);
    const s = slot;
    const running = slot.running;
    s.next ??= running
      .catch(() => undefined)
      .then(() => {
        s.next = undefined;
        return start(organizationId, s);
      });
    return s.next;
  };
}

/** The SCIM API's writes applied in their own transaction (drain/apply-in-transaction.ts). */
export function createApplyInTransaction(
  resources: Pick<Resources, 'metrics' | 'logger'>,
): ApplyInTransaction {
  return (trx, organizationId, rows) => applyInTransaction(resources, trx, organizationId, rows);
}
