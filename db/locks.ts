// Postgres advisory locks, all keyed by advisoryKey():
// - transaction-scoped, tried without waiting: the drain's per-organization lock
//   (the organization id as name), released when the transaction ends;
// - session-scoped, held on one dedicated connection while a long task runs (a poll,
//   a reconciliation): whoever finds it taken skips the task. If the process dies,
//   the connection closes and Postgres releases the lock.
// Session lock names carry a prefix ("poll:", "reconcile:") so they cannot meet an
// organization id.
import { type RawBuilder, sql } from 'kysely';
import type { Database, Transaction } from './database.ts';

/**
 * The one 64-bit lock key of `name` in this schema (two 32-bit hashes would make
 * unrelated names collide, and wait on each other, far more often).
 */
function advisoryKey(name: string): RawBuilder<unknown> {
  return sql`hashtextextended(current_schema() || '/' || ${name}, 0)`;
}

/**
 * Takes the transaction-scoped lock `name` if it is free: true when taken, false at
 * once when another transaction holds it. Released at commit or rollback.
 */
export async function tryTransactionLock(trx: Transaction, name: string): Promise<boolean> {
  const { rows } = await sql<{ locked: boolean }>`
    select pg_try_advisory_xact_lock(${advisoryKey(name)}) as locked
  `.execute(trx);
  return rows[0]?.locked === true;
}

export type Locked<T> = { locked: true; value: T } | { locked: false };

/**
 * Runs `task` under the session lock `name`, or returns `{ locked: false }` at once if
 * it is taken. `task` gets the lock's connection and should do its queries on it:
 * taking another from the pool would wait forever on a pool of one
 * (DATABASE_POOL_MAX=1).
 */
export async function withAdvisoryLock<T>(
  db: Database,
  name: string,
  task: (conn: Database) => Promise<T>,
): Promise<Locked<T>> {
  return db.connection().execute(async (conn) => {
    const { rows } = await sql<{ locked: boolean }>`
      select pg_try_advisory_lock(${advisoryKey(name)}) as locked
    `.execute(conn);
    if (!rows[0]?.locked) return { locked: false };
    try {
      return { locked: true, value: await task(conn) };
    } finally {
      await sql`select pg_advisory_unlock(${advisoryKey(name)})`.execute(conn).catch(() => {
        // The connection is gone, and the lock with it.
      });
    }
  });
}
