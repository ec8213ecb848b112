// Reconciling one organization against WorkOS's directory API: read the upstream
// state, compare it with the database, and write the differences into the inbox as
// synthetic events (source `reconcile`) that the ordered drain applies like any
// other, so a repair goes through the same last-writer-wins rules, audit log and
// session revocation as a webhook. A dry run computes the same diff and writes
// nothing. Used by `dirsync resync`, the scheduled reconciliation and the admin API.
//
// The upstream read is not atomic (WorkOS has no snapshot); a change made upstream
// while it runs reaches us as an ordinary event, and the next reconciliation sees
// whatever is left. The diff is told when the read began, so that what was written
// here meanwhile is never taken for something gone upstream (diff.ts). Its queries
// run on the advisory lock's connection, so a pool of one connection does not wait
// on itself.

import { toInboxEvent } from '../../common/inbox-row.ts';
import type { Resources } from '../../common/resources.ts';
import { triggerDrain } from '../../common/triggers.ts';
import type { Database } from '../../db/database.ts';
import { insertEvents } from '../../db/repositories/inbox.repository.ts';
import {
  ensureOrganization,
  markOrganizationReconciled,
  organizationExists,
} from '../../db/repositories/organizations.repository.ts';
import { withTaskLease } from '../../db/task-leases.ts';
import { createWorkOSClient, type WorkOSClient } from '../workos/client.ts';
import type { RetryPolicy } from '../workos/retry.ts';
import { ulid } from '../workos/ulid.ts';
import { type Change, diffOrganization, type ReconcileDiff } from './diff.ts';
import { type FetchProgress, fetchUpstream } from './fetch-upstream.ts';
import { type LocalState, loadLocal } from './load-local.ts';
import { directoryUsersLimiter, type RateLimiter } from './rate-limiter.ts';

export interface ReconcileOptions {
  /** Compute and report the difference; change nothing. */
  dryRun?: boolean;
  /** Allow deprovisioning most of an organization's users at once (see MassDeletionError). */
  force?: boolean;
  workos?: WorkOSClient;
  retry?: RetryPolicy;
  limiter?: RateLimiter;
  signal?: AbortSignal;
  pageSize?: number;
  onProgress?: (progress: ReconcileProgress) => void;
}

export type ReconcileProgress = FetchProgress | { phase: 'comparing' | 'storing'; events?: number };

export interface ReconcileResult {
  organizationId: string;
  dryRun: boolean;
  /** Synthetic events, by type. */
  counts: ReconcileDiff['counts'];
  events: number;
  /** Of those, stored now (0 in a dry run). */
  stored: number;
  stale: number;
  /** Missing upstream but written here after the read began: left for the next run. */
  deferred: number;
  upstream: ReconcileDiff['upstream'];
  local: ReconcileDiff['local'];
  /** Up to SAMPLE_SIZE changes of each type: ids and field names, never values. */
  sample: Change[];
  requests: number;
  durationMs: number;
}

export const SAMPLE_SIZE = 5;
/** Deleting more users than this share of the organization needs `force`. */
const MASS_DELETION_SHARE = 0.5;
const MASS_DELETION_MIN = 10;
const INSERT_CHUNK = 1_000;

export class UnknownOrganizationError extends Error {
  override name = 'UnknownOrganizationError';
}
export class ReconcileBusyError extends Error {
  override name = 'ReconcileBusyError';
}
/**
 * The diff would deprovision most of the organization's users: more likely a wrong
 * API key or environment (WorkOS then lists no directories) than a real departure.
 */
export class MassDeletionError extends Error {
  override name = 'MassDeletionError';
  readonly result: ReconcileResult;
  constructor(message: string, result: ReconcileResult) {
    super(message);
    this.result = result;
  }
}

function sampleOf(changes: readonly Change[]): Change[] {
  const seen = new Map<string, number>();
  return changes.filter((c) => {
    const n = seen.get(c.type) ?? 0;
    seen.set(c.type, n + 1);
    return n < SAMPLE_SIZE;
  });
}

/** Users the diff deprovisions: deleted one by one, or with their directory. */
function usersRemoved(diff: ReconcileDiff, local: LocalState): number {
  const goneDirectories = new Set(
    diff.changes.filter((c) => c.type === 'dsync.deleted').map((c) => c.subject),
  );
  let n = diff.counts['dsync.user.deleted'] ?? 0;
  for (const u of local.users.values()) {
    if (u.deleted_at === null && goneDirectories.has(u.directory_id)) n += 1;
  }
  return n;
}

type Reconciler = Pick<Resources, 'config' | 'db' | 'drainQueue' | 'logger'>;
type Log = Reconciler['logger'];

export async function reconcileOrganization(
  resources: Reconciler,
  organizationId: string,
  options: ReconcileOptions = {},
): Promise<ReconcileResult> {
  const log = resources.logger.child({ component: 'reconciler', orgId: organizationId });
  const workos = options.workos ?? createWorkOSClient(resources.config);
  const started = performance.now();
  const run = await withTaskLease(resources.db, `reconcile:${organizationId}`, (conn) =>
    reconcileLocked(resources, conn, organizationId, { ...options, workos }, log),
  );
  if (!run.locked) {
    throw new ReconcileBusyError(`a reconciliation of ${organizationId} is already running`);
  }
  const done = run.value;
  done.durationMs = Math.round(performance.now() - started);
  log.info(
    {
      dryRun: done.dryRun,
      events: done.events,
      counts: done.counts,
      stale: done.stale,
      deferred: done.deferred,
      requests: done.requests,
    },
    done.dryRun ? 'reconciliation computed (dry run)' : 'reconciled',
  );
  return done;
}

/** Read, compare and (unless a dry run) store: on the reconcile lock's connection. */
async function reconcileLocked(
  resources: Reconciler,
  conn: Database,
  organizationId: string,
  options: ReconcileOptions & { workos: WorkOSClient },
  log: Log,
): Promise<ReconcileResult> {
  const { diff, local, requests } = await compare(resources, conn, organizationId, options, log);
  const result: ReconcileResult = {
    organizationId,
    dryRun: options.dryRun === true,
    counts: diff.counts,
    events: diff.events.length,
    stored: 0,
    stale: diff.stale,
    deferred: diff.deferred,
    upstream: diff.upstream,
    local: diff.local,
    sample: sampleOf(diff.changes),
    requests,
    durationMs: 0,
  };
  if (options.dryRun) return result;
  const removed = usersRemoved(diff, local);
  if (
    !options.force &&
    removed > MASS_DELETION_MIN &&
    removed > diff.local.users * MASS_DELETION_SHARE
  ) {
    throw new MassDeletionError(
      `refusing to deprovision ${removed} of ${diff.local.users} users of ${organizationId} at once; check the API key and environment, then force it`,
      result,
    );
  }
  options.onProgress?.({ phase: 'storing', events: diff.events.length });
  result.stored = await storeEvents(resources, conn, organizationId, diff, log);
  return result;
}

/** The upstream state, the local one, and the difference between them. */
async function compare(
  resources: Reconciler,
  conn: Database,
  organizationId: string,
  options: ReconcileOptions & { workos: WorkOSClient },
  log: Log,
): Promise<{ diff: ReconcileDiff; local: LocalState; requests: number }> {
  // Before the first request: whatever is written here from now on may be newer
  // than the read, which the local snapshot (taken after it) must not hold against.
  // Stored times are WorkOS's clock, this is ours: set back by a margin for the
  // skew between the two (it only defers more to the next resync).
  const fetchStartedAt = new Date(Date.now() - resources.config.WORKOS_CLOCK_SKEW_MS);
  const upstream = await fetchUpstream(organizationId, {
    workos: options.workos,
    log,
    limiter: options.limiter ?? directoryUsersLimiter,
    retry: options.retry,
    signal: options.signal,
    pageSize: options.pageSize,
    onProgress: options.onProgress,
  });
  options.onProgress?.({ phase: 'comparing' });
  // One snapshot of the database: the drain may be applying events meanwhile.
  const local = await conn
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute((trx) => loadLocal(trx, organizationId));
  if (upstream.directories.size === 0 && !(await organizationExists(conn, organizationId))) {
    throw new UnknownOrganizationError(
      `unknown organization ${organizationId}: no events, no rows, no directories at WorkOS`,
    );
  }
  const diff = diffOrganization(
    organizationId,
    upstream,
    local,
    fetchStartedAt,
    () => `event_reconcile_${ulid()}`,
  );
  return { diff, local, requests: upstream.requests };
}

/**
 * Stores the synthetic events in the inbox and the reconciliation's time, in one
 * transaction, then triggers the drain. Returns how many events were new.
 */
async function storeEvents(
  resources: Reconciler,
  conn: Database,
  organizationId: string,
  diff: ReconcileDiff,
  log: Log,
): Promise<number> {
  const rows = diff.events.map((event) => {
    const converted = toInboxEvent(event, 'reconcile');
    // Every synthetic event has an id; toInboxEvent only fails without one.
    if (!converted.ok) throw new Error(converted.error);
    return converted.row;
  });
  const stored = await conn.transaction().execute(async (trx) => {
    let n = 0;
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      n += (await insertEvents(trx, rows.slice(i, i + INSERT_CHUNK))).size;
    }
    await ensureOrganization(trx, organizationId);
    await markOrganizationReconciled(trx, organizationId);
    return n;
  });
  const invalid = rows.filter((r) => r.status === 'dead');
  for (const r of invalid)
    log.error(
      { eventId: r.eventId, error: r.lastError },
      'synthetic event invalid; stored as dead',
    );
  if (stored > 0) {
    await triggerDrain(resources.drainQueue, organizationId).catch((err) =>
      log.warn({ err }, 'could not trigger the drain; the sweeper will'),
    );
  }
  return stored;
}
