// Tasks that run once at a time across every process (the Events API poll, each
// organization's reconciliation) hold a lease: a row naming the holder, valid until
// `expires_at` and renewed while the task runs. Whoever finds a live lease skips the
// task. A process that dies stops renewing and its lease lapses. No connection is
// held meanwhile (a session-level advisory lock would need one for the whole task,
// and a transaction pooler does not keep it), so a pool of one does not wait on itself.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { sql } from 'kysely';
import type { Logger } from '../common/logger.ts';
import type { Database } from './database.ts';

export type Locked<T> = { locked: true; value: T } | { locked: false };

export interface LeaseOptions {
  /** How long a lease lasts without renewal: a dead holder's task waits this long. */
  leaseMs?: number;
  logger?: Logger;
}

const DEFAULT_LEASE_MS = 60_000;

/** Takes the lease `name` for `holder` if nobody holds a live one. */
export async function takeLease(
  db: Database,
  name: string,
  holder: string,
  leaseMs: number,
): Promise<boolean> {
  const until = sql<Date>`now() + make_interval(secs => ${leaseMs / 1000})`;
  const row = await db
    .insertInto('task_leases')
    .values({ name, holder, expires_at: until })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ holder, expires_at: until })
        .where('task_leases.expires_at', '<', sql<Date>`now()`),
    )
    .returning('holder')
    .executeTakeFirst();
  return row?.holder === holder;
}

/** Extends `holder`'s lease; false when it lapsed and another took it. */
export async function renewLease(
  db: Database,
  name: string,
  holder: string,
  leaseMs: number,
): Promise<boolean> {
  const result = await db
    .updateTable('task_leases')
    .set({ expires_at: sql<Date>`now() + make_interval(secs => ${leaseMs / 1000})` })
    .where('name', '=', name)
    .where('holder', '=', holder)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function releaseLease(db: Database, name: string, holder: string): Promise<void> {
  await db
    .deleteFrom('task_leases')
    .where('name', '=', name)
    .where('holder', '=', holder)
    .execute();
}

/**
 * Runs `task` under the lease `name`, or returns `{ locked: false }` at once when
 * another process holds it. The lease is renewed every third of its length.
 */
export async function withTaskLease<T>(
  db: Database,
  name: string,
  task: (db: Database) => Promise<T>,
  options: LeaseOptions = {},
): Promise<Locked<T>> {
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const holder = `${hostname()}:${process.pid}:${randomUUID()}`;
  if (!(await takeLease(db, name, holder, leaseMs))) return { locked: false };
  let renewing: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewLease(db, name, holder, leaseMs).then(
      (kept) => {
        if (!kept) options.logger?.warn({ lease: name }, 'task lease lapsed and was taken over');
      },
      (err) => options.logger?.warn({ err, lease: name }, 'could not renew a task lease'),
    );
  }, leaseMs / 3);
  timer.unref();
  try {
    return { locked: true, value: await task(db) };
  } finally {
    clearInterval(timer);
    await renewing;
    await releaseLease(db, name, holder).catch(() => {
      // Unreachable database: the lease lapses by itself.
    });
  }
}
