// Every SCIM write, in the durability order of the webhook ingest: one transaction
// stores the SCIM resource and the directory events that describe the change (inbox
// rows, source `scim`); after the commit the organization's drain applies them (in
// order, under its lock, with revocation and audit), and only then does the request
// answer. A retried request finds the resource already as it asks, makes no event,
// and still waits for any of this directory's earlier events left pending (say the
// first try timed out), so nothing applies twice and nothing is skipped.
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../../common/logger.ts';
import type { ApplyNow } from '../../common/scim/apply-now.ts';
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
  logger: Logger;
}

/** How long a request waits for its events to apply before answering 503. */
const APPLY_WAIT_MS = 10_000;
/** Between checks while another process's drain holds the lock: short, growing. */
const BUSY_BACKOFF_MS = [2, 5, 10, 20, 50, 100] as const;

function uniqueViolation(err: unknown): string | undefined {
  const e = err as { code?: string; constraint?: string };
  return e?.code === '23505' ? (e.constraint ?? 'unique') : undefined;
}

export async function commitWrite<T>(
  deps: ScimDeps,
  directory: AuthenticatedDirectory,
  write: (trx: Transaction) => Promise<{ events: WireEvent[]; result: T }>,
): Promise<T> {
  let out: { events: WireEvent[]; result: T };
  try {
    out = await deps.db.transaction().execute(async (trx) => {
      const written = await write(trx);
      if (written.events.length > 0) await insertEvents(trx, scimInboxRows(written.events));
      return written;
    });
  } catch (err) {
    const constraint = uniqueViolation(err);
    if (constraint === 'scim_users_user_name_idx') {
      throw new ScimError(409, 'userName is already taken in this directory', 'uniqueness');
    }
    if (constraint) throw new ScimError(409, 'the resource already exists', 'uniqueness');
    throw err;
  }
  await waitApplied(
    deps,
    directory.organizationId,
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
