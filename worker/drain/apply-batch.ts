// One transaction of a drain: under the organization's advisory lock, read the next
// pending events in order, apply them to a snapshot, write rows, revoke sessions,
// audit, and mark each event applied, ignored or dead. All or nothing.
import { toError } from '../../common/errors.ts';
import { type DirectoryEvent, InvalidEventError, parseEvent } from '../../common/events.ts';
import { type RepairedEvent, repairDeprovisioning } from '../../common/fail-closed.ts';
import { type Alteration, makeStorable } from '../../common/storable.ts';
import { commitWithoutFlush, type Transaction } from '../../db/database.ts';
import { tryTransactionLock } from '../../db/locks.ts';
import { appendAuditRows, type NewAuditRow } from '../../db/repositories/audit-log.repository.ts';
import {
  markEventDead,
  markEventsDone,
  type PendingEvent,
  pendingEvents,
  recordAlterations,
} from '../../db/repositories/inbox.repository.ts';
import {
  ensureOrganization,
  markOrganizationApplied,
} from '../../db/repositories/organizations.repository.ts';
import { applyEvent } from '../apply/apply-event.ts';
import { Effects, type Revocation } from '../apply/effects.ts';
import { withStoredValues } from '../apply/repaired-event.ts';
import { BatchFailedError, OrganizationBusyError } from './errors.ts';
import { loadSnapshot } from './load-snapshot.ts';
import { type RevokedSessions, revokeSessions } from './revoke-sessions.ts';
import { saveSnapshot } from './save-snapshot.ts';

export type Outcome = 'applied' | 'stale' | 'ignored' | 'dead';

export type BatchResult =
  | { kind: 'paused' }
  | { kind: 'empty' }
  | {
      kind: 'done';
      /** Events looked at, in order. */
      events: PendingEvent[];
      outcomes: Map<string, Outcome>;
      revoked: RevokedSessions[];
      /** Every user the batch deprovisioned (with or without sessions to revoke). */
      deprovisioned: Revocation[];
      /** Received time of the events that revoked sessions, by event id. */
      receivedAt: Map<string, Date>;
    };

/** Takes the org's transaction-scoped advisory lock, or throws OrganizationBusyError. */
export async function lockOrganization(trx: Transaction, organizationId: string): Promise<void> {
  if (!(await tryTransactionLock(trx, organizationId)))
    throw new OrganizationBusyError(organizationId);
}

/**
 * A directory deletion is applied in a batch of its own: its snapshot holds every
 * user and group of the directory, which must not be multiplied by other events.
 */
function cutAtDirectoryDeletion(parsed: ParsedRow[]) {
  const first = parsed.findIndex((p) => p.event?.event === 'dsync.deleted');
  if (first === -1) return parsed;
  if (first === 0) {
    const next = parsed.findIndex((p, i) => i > 0 && p.event !== undefined);
    return next === -1 ? parsed : parsed.slice(0, next);
  }
  return parsed.slice(0, first);
}

export interface ParsedRow {
  row: PendingEvent;
  event?: DirectoryEvent;
  /** Set when the event was invalid but is a deprovisioning: applied repaired. */
  repaired?: RepairedEvent;
  /** Alterations found here, not yet on the row: made storable now, fields dropped. */
  added: Alteration[];
}

/** Parses one pending row: a directory event, an ignored one, or dead at once. */
function parseRow(
  row: PendingEvent,
  outcomes: Map<string, Outcome>,
  errors: Map<string, string>,
): ParsedRow {
  // Rows stored before ingestion made every payload storable (a replayed dead
  // event, say) are made storable here too.
  const storable = makeStorable(row.payload);
  const added = row.alterations ? [] : storable.alterations;
  try {
    const result = parseEvent(storable.value);
    if (result.kind === 'directory') return { row, event: result.event, added };
    outcomes.set(row.event_id, 'ignored');
  } catch (err) {
    if (!(err instanceof InvalidEventError)) throw err;
    // Fail closed: an invalid deprovisioning is applied with what is valid in it.
    const repaired = repairDeprovisioning(storable.value, row.occurred_at);
    if (repaired)
      return { row, event: repaired.event, repaired, added: [...added, ...repaired.dropped] };
    // Input that can never succeed: dead at once, the organization moves on.
    outcomes.set(row.event_id, 'dead');
    errors.set(row.event_id, err.message);
  }
  return { row, added };
}

/** Every alteration of each event: made storable at arrival or here, fields dropped. */
function alterationsByEvent(parsed: ParsedRow[]): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  for (const { row, added } of parsed) {
    const all = [...(row.alterations ?? []), ...added];
    if (all.length > 0) out.set(row.event_id, all);
  }
  return out;
}

function withAlterations(
  detail: Record<string, unknown>,
  alterations: unknown[] | undefined,
): Record<string, unknown> {
  return alterations ? { ...detail, alterations } : detail;
}

export async function applyBatch(
  trx: Transaction,
  organizationId: string,
  limit: number,
  /**
   * Where the previous batch of this drain stopped. Starting after it skips the
   * index entries of rows just applied (dead until vacuum); events that arrive
   * late with an earlier time are found by the drain's final pass without it.
   */
  after?: { occurredAt: Date; eventId: string },
): Promise<BatchResult> {
  await lockOrganization(trx, organizationId);
  const organization = await ensureOrganization(trx, organizationId);
  if (organization.paused_at) return { kind: 'paused' };

  const rows = await pendingEvents(trx, organizationId, limit, after);
  if (rows.length === 0) return { kind: 'empty' };
  try {
    return await applyPending(trx, organizationId, organization.deprovision_policy, rows);
  } catch (caught) {
    throw new BatchFailedError(
      rows.map((r) => r.event_id),
      toError(caught),
    );
  }
}

/** What applying rows did, before any inbox status is written. */
export interface AppliedRows {
  parsed: ParsedRow[];
  outcomes: Map<string, Outcome>;
  /** Dead events and why. */
  errors: Map<string, string>;
  revoked: RevokedSessions[];
  deprovisioned: Revocation[];
  /** Every alteration of each event (arrival's and this apply's). */
  altered: Map<string, unknown[]>;
}

/**
 * Applies inbox rows of one organization (whose lock the caller holds) in one
 * transaction: parsed, applied to a snapshot, rows written, sessions revoked,
 * audited. Inbox statuses are the caller's: the drain marks its pending rows, a SCIM
 * write stores its rows already applied. `durable`: the commit waits for the WAL
 * flush even when it takes no access away (a SCIM write answers after it; the
 * drain's rows can simply be applied again after a crash).
 */
export async function applyRows(
  trx: Transaction,
  organizationId: string,
  policy: Parameters<typeof loadSnapshot>[2],
  rows: PendingEvent[],
  options: { durable: boolean },
): Promise<AppliedRows> {
  const outcomes = new Map<string, Outcome>();
  const errors = new Map<string, string>();
  const parsed = cutAtDirectoryDeletion(rows.map((row) => parseRow(row, outcomes, errors)));

  const events = parsed.flatMap((p) => (p.event ? [p.event] : []));
  const snapshot = await loadSnapshot(trx, organizationId, policy, events);
  const effects = new Effects();
  for (const p of parsed) {
    if (!p.event) continue;
    // A repaired deprovisioning keeps the stored value of each field it dropped.
    const event = p.repaired ? withStoredValues(snapshot, p.repaired) : p.event;
    outcomes.set(event.id, applyEvent(snapshot, event, effects));
  }
  await saveSnapshot(trx, snapshot);

  if (effects.revocations.size === 0 && !options.durable) {
    // No access is taken away in this batch: its commit need not wait for the WAL
    // flush. If Postgres crashed before the flush, the batch would roll back whole,
    // inbox statuses included, and be applied again (applying is idempotent). A batch
    // that revokes sessions keeps the synchronous commit.
    await commitWithoutFlush(trx);
  }
  const deprovisioned = [...effects.revocations.values()];
  const revoked = await revokeSessions(trx, deprovisioned);
  const altered = alterationsByEvent(parsed);
  await appendAuditRows(trx, auditRows(organizationId, effects, revoked, altered));
  return { parsed, outcomes, errors, revoked, deprovisioned, altered };
}

/** The drain's batch: its rows applied, then each pending row marked. */
async function applyPending(
  trx: Transaction,
  organizationId: string,
  policy: Parameters<typeof loadSnapshot>[2],
  rows: PendingEvent[],
): Promise<BatchResult> {
  const applied = await applyRows(trx, organizationId, policy, rows, { durable: false });
  const { parsed, outcomes, errors, altered } = applied;
  const looked = parsed.map((p) => p.row);
  await markOutcomes(trx, looked, outcomes, errors);
  for (const p of parsed) {
    if (p.added.length > 0) {
      await recordAlterations(trx, p.row.event_id, altered.get(p.row.event_id) ?? []);
    }
  }
  await markOrganizationApplied(trx, organizationId, looked[looked.length - 1]!.event_id);

  const receivedAt = new Map(looked.map((r) => [r.event_id, r.received_at]));
  return {
    kind: 'done',
    events: looked,
    outcomes,
    revoked: applied.revoked,
    deprovisioned: applied.deprovisioned,
    receivedAt,
  };
}

/**
 * The batch's audit rows: its changes, then one per user whose sessions it revoked;
 * each names its event's alterations, if any.
 */
function auditRows(
  organizationId: string,
  effects: Effects,
  revoked: readonly RevokedSessions[],
  altered: ReadonlyMap<string, unknown[]>,
): NewAuditRow[] {
  const audit: NewAuditRow[] = effects.audit.map((a) => ({
    ...a,
    organization_id: organizationId,
    detail: JSON.stringify(withAlterations(a.detail, altered.get(a.event_id))),
  }));
  for (const r of revoked) {
    audit.push({
      event_id: r.eventId,
      organization_id: organizationId,
      action: 'sessions_revoked',
      subject_type: 'user',
      subject_id: r.userId,
      detail: JSON.stringify(
        withAlterations(
          { count: r.sessionIds.length, session_ids: r.sessionIds, reason: r.reason },
          altered.get(r.eventId),
        ),
      ),
    });
  }
  return audit;
}

/** Each event looked at: applied or ignored in one statement, dead with its error. */
async function markOutcomes(
  trx: Transaction,
  looked: readonly PendingEvent[],
  outcomes: ReadonlyMap<string, Outcome>,
  errors: ReadonlyMap<string, string>,
): Promise<void> {
  const ignored = looked
    .filter((r) => outcomes.get(r.event_id) === 'ignored')
    .map((r) => r.event_id);
  const done = looked.filter((r) => outcomes.get(r.event_id) !== 'dead').map((r) => r.event_id);
  await markEventsDone(trx, done, ignored);
  for (const [eventId, message] of errors) await markEventDead(trx, eventId, message);
}
