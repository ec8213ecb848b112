// Postgres advisory locks, all keyed by advisoryKey():
// - transaction-scoped, tried without waiting: the drain's per-organization lock
//   (the organization id as name), released when the transaction ends;
// - the same lock, waited for: a SCIM write applied in its own transaction (the
//   holders are short transactions: a drain batch or another SCIM write);
// Tasks that run once at a time across processes (a poll, a reconciliation) hold a
// lease row instead (db/task-leases.ts): a session-level lock would need one
// connection for the whole task, and a transaction pooler does not keep it.
import { type RawBuilder, sql } from 'kysely';
import type { Transaction } from './database.ts';

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

/**
 * Takes the transaction-scoped lock `name`, waiting while another transaction holds
 * it. Released at commit or rollback.
 */
export async function transactionLock(trx: Transaction, name: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(${advisoryKey(name)})`.execute(trx);
}
