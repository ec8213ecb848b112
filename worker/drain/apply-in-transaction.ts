// A SCIM write's events applied inside the write's own transaction, so that the write
// is one transaction when its organization has nothing pending: under the
// organization's lock (waited for, the holders are short), its inbox rows stored
// already applied, applied by the drain's code (apply-batch.ts applyRows: rows,
// sessions revoked, audit), the revocation messages in the outbox, then the commit.
// When the organization is paused or has events pending (ordering per organization
// must hold), nothing is applied here: the caller stores the rows pending and the
// drain applies them in order.
import type { Resources } from '../../common/resources.ts';
import type { AppliedInTransaction } from '../../common/scim/apply-now.ts';
import type { Transaction } from '../../db/database.ts';
import { transactionLock } from '../../db/locks.ts';
import {
  type IncomingEvent,
  insertEvents,
  type PendingEvent,
  pendingEvents,
} from '../../db/repositories/inbox.repository.ts';
import {
  ensureOrganization,
  markOrganizationApplied,
} from '../../db/repositories/organizations.repository.ts';
import { appendRevocations } from '../../db/repositories/revocation-outbox.repository.ts';
import { applyRows, type BatchResult } from './apply-batch.ts';
import { type DrainResult, outboxEntries, reportBatch } from './drain-organization.ts';

type Applier = Pick<Resources, 'metrics' | 'logger'>;

/** The rows as the drain reads them back from the inbox. */
function asPending(rows: readonly IncomingEvent[], receivedAt: Date): PendingEvent[] {
  return rows.map((r) => ({
    event_id: r.eventId,
    event_type: r.eventType,
    occurred_at: r.occurredAt,
    received_at: receivedAt,
    payload: JSON.parse(r.payload) as unknown,
    alterations: r.alterations ?? null,
  }));
}

export async function applyInTransaction(
  resources: Applier,
  trx: Transaction,
  organizationId: string,
  rows: readonly IncomingEvent[],
): Promise<AppliedInTransaction | undefined> {
  if (rows.length === 0) return undefined;
  const end = resources.metrics.applyLatency.startTimer();
  await transactionLock(trx, organizationId);
  const organization = await ensureOrganization(trx, organizationId);
  if (organization.paused_at) return undefined;
  if ((await pendingEvents(trx, organizationId, 1)).length > 0) return undefined;

  const receivedAt = new Date();
  // Stored first: the audit trigger names a SCIM event's directory from its row.
  await insertEvents(
    trx,
    rows.map((r) => ({ ...r, status: 'applied' as const })),
  );
  const pending = asPending(rows, receivedAt);
  const applied = await applyRows(trx, organizationId, organization.deprovision_policy, pending, {
    durable: true,
  });
  // SCIM builds valid directory events only, in batches without a directory deletion;
  // anything else is applied by the drain (the caller's fallback), never half here.
  const notApplied = pending.filter((r) => {
    const outcome = applied.outcomes.get(r.event_id);
    return outcome !== 'applied' && outcome !== 'stale';
  });
  if (notApplied.length > 0 || applied.parsed.length !== pending.length) {
    throw new Error(
      `SCIM event ${notApplied[0]?.event_id ?? pending[0]!.event_id} cannot be applied in its write`,
    );
  }
  await markOrganizationApplied(trx, organizationId, pending[pending.length - 1]!.event_id);
  const batch: Extract<BatchResult, { kind: 'done' }> = {
    kind: 'done',
    events: pending,
    outcomes: applied.outcomes,
    revoked: applied.revoked,
    deprovisioned: applied.deprovisioned,
    receivedAt: new Map(pending.map((r) => [r.event_id, receivedAt])),
  };
  // The revocation messages, last in the revoking transaction (as the drain does).
  await appendRevocations(trx, outboxEntries(organizationId, batch));
  return {
    committed() {
      end();
      const counted: DrainResult = { applied: 0, dead: 0, batches: 1 };
      const log = resources.logger.child({ component: 'scim-apply', orgId: organizationId });
      reportBatch(resources, organizationId, batch, counted, log);
    },
  };
}
