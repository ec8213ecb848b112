// The revocation outbox (see its migration): rows written in the revoking
// transaction, read and marked sent by the relay, pruned after a retention.
//
// Commit order. Ids come from an identity sequence, and a sequence hands out ids at
// insert time, not at commit: with two writers, id 7 could commit after id 8, and a
// reader could see 8 without 7. Two ways to stop a relay from sending out of commit
// order: relay only ids below the oldest in-flight writer's (tracking transaction
// ids and snapshots), or serialize the writers. Writers are serialized here: each
// takes a transaction-scoped advisory lock just before its insert and holds it to
// commit, so ids are handed out and committed one writer at a time and id order is
// commit order. The cost is small: the drain writes the outbox as the last statement
// of a revoking transaction, so the lock is held only for the insert and the commit,
// and only transactions that revoke sessions take it. The relay never tracks a
// position either: it sends whatever is unsent, oldest id first, so even a writer
// that skipped the lock could be late but never lost.
//
// Both locks use the two-key advisory lock space (distinct from the one-key space of
// the per-organization locks) with the table's own oid as first key, so schemas
// (tests, deployments sharing a database) never contend with each other.
import { sql } from 'kysely';
import type { Executor, Transaction } from '../database.ts';
import type { OutboxRow } from '../tables/revocation-outbox.table.ts';

const WRITER_LOCK = 0;
const RELAY_LOCK = 1;
const lockKey = sql`'revocation_outbox'::regclass::oid::int`;

export interface OutboxEntry {
  organizationId: string;
  userId: string;
  sessionIds: readonly string[];
  reason: string;
  eventId: string | null;
  eventReceivedAt: Date | null;
}

/** Appends messages in the caller's transaction; call it last, right before commit. */
export async function appendRevocations(
  trx: Transaction,
  entries: readonly OutboxEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  await sql`select pg_advisory_xact_lock(${lockKey}, ${WRITER_LOCK})`.execute(trx);
  // One statement whatever the count: one array per column, session ids joined
  // (unnest cannot expand an array of arrays of different lengths).
  await sql`
    insert into ${sql.table('revocation_outbox')}
      (organization_id, user_id, session_ids, reason, event_id, event_received_at)
    select o, u::uuid, string_to_array(s, ',')::uuid[], r, e, t
    from unnest(
      ${entries.map((x) => x.organizationId)}::text[],
      ${entries.map((x) => x.userId)}::text[],
      ${entries.map((x) => x.sessionIds.join(','))}::text[],
      ${entries.map((x) => x.reason)}::text[],
      ${entries.map((x) => x.eventId)}::text[],
      ${entries.map((x) => x.eventReceivedAt)}::timestamptz[]
    ) with ordinality as x(o, u, s, r, e, t, n)
    order by n
  `.execute(trx);
}

/** The relay's lock: one relay sends at a time, so sends follow id order. */
export async function tryLockRelay(trx: Transaction): Promise<boolean> {
  const { rows } = await sql<{ locked: boolean }>`
    select pg_try_advisory_xact_lock(${lockKey}, ${RELAY_LOCK}) as locked
  `.execute(trx);
  return rows[0]?.locked === true;
}

export async function unsentRevocations(db: Executor, limit: number): Promise<OutboxRow[]> {
  return db
    .selectFrom('revocation_outbox')
    .selectAll()
    .where('sent_at', 'is', null)
    .orderBy('id')
    .limit(limit)
    .execute();
}

export async function markRevocationsSent(trx: Transaction, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await trx
    .updateTable('revocation_outbox')
    .set({ sent_at: new Date() })
    .where('id', 'in', ids)
    .execute();
}

/** Deletes rows sent more than `hours` ago, a bounded chunk at a time. */
export async function pruneSentRevocations(db: Executor, hours: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const result = await sql`
      delete from ${sql.table('revocation_outbox')} where id in (
        select id from ${sql.table('revocation_outbox')}
        where sent_at < now() - make_interval(hours => ${hours}::int)
        limit 10000
      )
    `.execute(db);
    const n = Number(result.numAffectedRows ?? 0);
    deleted += n;
    if (n < 10000) return deleted;
  }
}

export interface OutboxBacklog {
  unsent: number;
  oldestUnsentAt: Date | null;
}

export async function revocationBacklog(db: Executor): Promise<OutboxBacklog> {
  const row = await db
    .selectFrom('revocation_outbox')
    .select((eb) => [eb.fn.countAll<number>().as('unsent'), eb.fn.min('revoked_at').as('oldest')])
    .where('sent_at', 'is', null)
    .executeTakeFirstOrThrow();
  return { unsent: Number(row.unsent), oldestUnsentAt: row.oldest ?? null };
}
