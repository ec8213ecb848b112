// How the SCIM API gets its writes applied before it answers: functions the process
// wiring passes in (the worker's, run in this process), so the API never imports the
// worker.
// - ApplyNow runs the organization's drain. `busy`: another process holds the
//   organization's drain lock (its drain applies the events; the caller waits).
// - ApplyInTransaction applies a write's events inside the write's own transaction,
//   under the organization's lock, and stores them already applied: undefined when
//   it may not (the organization is paused, or has events pending ahead of these,
//   which keep their order through the drain); the caller then stores them pending.
import type { Transaction } from '../../db/database.ts';
import type { IncomingEvent } from '../../db/repositories/inbox.repository.ts';

export type ApplyOutcome = 'done' | 'busy' | 'paused';
export type ApplyNow = (organizationId: string) => Promise<ApplyOutcome>;

export interface AppliedInTransaction {
  /** Once the transaction committed: metrics and the deprovisioning log. */
  committed(): void;
}

export type ApplyInTransaction = (
  trx: Transaction,
  organizationId: string,
  rows: readonly IncomingEvent[],
) => Promise<AppliedInTransaction | undefined>;
