// Every SCIM write, in the durability order of the webhook ingest: the SCIM resource
// and the directory events that describe the change (inbox rows, source `scim`) are
// stored in one transaction, and applied (in order, under the organization's lock,
// with revocation and audit) before the request answers.
// - When the organization has nothing pending, the events are applied in that same
//   transaction and stored already applied (ApplyInTransaction): one transaction.
// - Otherwise (events pending ahead, a paused organization, or applying them there
//   failed) they are stored pending, and after the commit the organization's drain
//   applies them; the request waits for that.
// A retried request finds the resource already as it asks, makes no event, and still
// waits for any of this directory's earlier events left pending (say the first try
// timed out), so nothing applies twice and nothing is skipped.
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../../common/logger.ts';
import type {
  AppliedInTransaction,
  ApplyInTransaction,
  ApplyNow,
} from '../../common/scim/apply-now.ts';
import { scimInboxRows } from '../../common/scim/inbox-rows.ts';
import { scimEventId, type WireEvent } from '../../common/scim/wire-events.ts';
import type { Database, Transaction } from '../../db/database.ts';
import { insertEvents } from '../../db/repositories/inbox.repository.ts';
import {
  eventStatuses,
  pendingScimEventIds,
} from '../../db/repositories/scim-directories.repository.ts';
import type { AuthenticatedDirectory } from './auth.ts';
import { ScimError } from './errors.ts';

export interface ScimDeps {
  db: Database;
  applyNow: ApplyNow;
  /** Absent: every write is stored pending and applied by the drain. */
  applyInTransaction?: ApplyInTransaction;
  logger: Logger;
}

/** Applying in the write's transaction failed: the write is stored pending instead. */
class InTransactionFailed extends Error {
  override name = 'InTransactionFailed';
}

/** How long a request waits for its events to apply before answering 503. */
const APPLY_WAIT_MS = 10_000;
/** Between checks while another process's drain holds the lock: short, growing. */
const BUSY_BACKOFF_MS = [2, 5, 10, 20, 50, 100] as const;

function uniqueViolation(err: unknown): string | undefined {
  const e = err as { code?: string; constraint?: string };
  return e?.code === '23505' ? (e.constraint ?? 'unique') : undefined;
}

type Write<T> = (trx: Transaction) => Promise<{ events: WireEvent[]; result: T }>;

/** The write's transaction; its events applied in it when `inTransaction`. */
async function store<T>(
  deps: ScimDeps,
  organizationId: string,
  write: Write<T>,
  inTransaction: ApplyInTransaction | undefined,
): Promise<{ events: WireEvent[]; result: T; applied?: AppliedInTransaction }> {
  try {
    return await deps.db.transaction().execute(async (trx) => {
      const written = await write(trx);
      if (written.events.length === 0) return written;
      const rows = scimInboxRows(written.events);
      const applied = inTransaction
        ? await inTransaction(trx, organizationId, rows).catch((err: unknown) => {
            throw new InTransactionFailed('applying in the write failed', { cause: err });
          })
        : undefined;
      if (!applied) await insertEvents(trx, rows);
      return { ...written, applied };
    });
  } catch (err) {
    const constraint = uniqueViolation(err);
    if (constraint === 'scim_users_user_name_idx') {
      throw new ScimError(409, 'userName is already taken in this directory', 'uniqueness');
    }
    if (constraint) throw new ScimError(409, 'the resource already exists', 'uniqueness');
    throw err;
  }
}

export async function commitWrite<T>(
  deps: ScimDeps,
  directory: AuthenticatedDirectory,
  write: Write<T>,
): Promise<T> {
  const organizationId = directory.organizationId;
  let out: Awaited<ReturnType<typeof store<T>>>;
  try {
    out = await store(deps, organizationId, write, deps.applyInTransaction);
  } catch (err) {
    if (!(err instanceof InTransactionFailed)) throw err;
    // Rolled back whole: the write is made again, its events stored pending, and
    // the drain applies them (retrying, or parking a bad one as dead, as for any).
    deps.logger.warn(
      { err: err.cause, orgId: organizationId },
      'SCIM write not applied in its transaction; stored for the drain',
    );
    out = await store(deps, organizationId, write, undefined);
  }
  if (out.applied) {
    out.applied.committed();
    return out.result;
  }
  await waitApplied(
    deps,
    organizationId,
    out.events.map((e) => e.id),
  );
  return out.result;
}

export async function waitApplied(
  deps: ScimDeps,
  organizationId: string,
  ownIds: readonly string[],
): Promise<void> {
  // No event of its own (a retry, a no-op): wait for this organization's SCIM events
  // made before now, if any is still pending.
  const ids =
    ownIds.length > 0 ? ownIds : await pendingScimEventIds(deps.db, organizationId, scimEventId());
  if (ids.length === 0) return;
  const deadline = Date.now() + APPLY_WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    const outcome = await deps.applyNow(organizationId);
    const statuses = await eventStatuses(deps.db, ids);
    const pending = ids.filter((id) => statuses.get(id) === 'pending');
    if (pending.length === 0) {
      const dead = ids.filter((id) => statuses.get(id) === 'dead');
      if (dead.length > 0) {
        deps.logger.error(
          { alert: 'dead_event', eventIds: dead, organizationId },
          'SCIM event dead',
        );
        throw new ScimError(500, 'the change could not be applied; operators have been alerted');
      }
      return;
    }
    if (outcome === 'paused') {
      throw new ScimError(
        503,
        'provisioning of this organization is paused; the change is stored and applies when it resumes',
      );
    }
    if (Date.now() > deadline) {
      throw new ScimError(503, 'the change is stored but not applied yet; retry the request');
    }
    await delay(BUSY_BACKOFF_MS[Math.min(attempt, BUSY_BACKOFF_MS.length - 1)]);
  }
}
