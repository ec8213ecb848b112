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
//
// Wake-up. The writer's insert also sends a Postgres NOTIFY on
// revocationOutboxChannel(schema), payload the highest id it inserted: Postgres
// delivers it to every listening session at commit (never for a rollback), so a
// relay in any process hears of a commit at once instead of at its next poll. The
// NOTIFY queue's commit-time lock serializes notifying commits, which the writer
// lock already does.
import { createHash } from 'node:crypto';
import { type RawBuilder, sql } from 'kysely';
import type { Executor, Transaction } from '../database.ts';
import type { OutboxRow } from '../tables/revocation-outbox.table.ts';

const WRITER_LOCK = 0;
const RELAY_LOCK = 1;
const lockKey = sql`'revocation_outbox'::regclass::oid::int`;

const CHANNEL_SUFFIX = '.revocation_outbox';
/** Postgres truncates longer identifiers (NAMEDATALEN - 1), and pg_notify refuses them. */
const MAX_CHANNEL_BYTES = 63;

/**
 * The Postgres NOTIFY channel of the outbox of DATABASE_SCHEMA `schema`:
 * `<schema>.revocation_outbox` (`dirsync.revocation_outbox` by default), so two
 * deployments in one database never wake each other. A schema too long for that to
 * fit in 63 bytes gives `dirsync.revocation_outbox.` and the first 32 hex digits of
 * the schema's MD5 (in SQL: `md5(schema)`). Every transaction that commits outbox
 * rows notifies it once, payload the highest new outbox id (decimal). LISTEN needs a
 * session of its own (DATABASE_DIRECT_URL: a transaction pooler cannot LISTEN), and
 * the channel quoted as an identifier (db/notification-listener.ts does both).
 */
export function revocationOutboxChannel(schema: string): string {
  const plain = `${schema}${CHANNEL_SUFFIX}`;
  if (Buffer.byteLength(plain) <= MAX_CHANNEL_BYTES) return plain;
  return `dirsync${CHANNEL_SUFFIX}.${createHash('md5').update(schema).digest('hex')}`;
}

/** revocationOutboxChannel() in SQL, of a schema name (text); the test checks they agree. */
export function revocationOutboxChannelSql(schema: RawBuilder<unknown>): RawBuilder<string> {
  const plain = sql`${schema} || ${CHANNEL_SUFFIX}`;
  return sql<string>`case when octet_length(${plain}) <= ${sql.lit(MAX_CHANNEL_BYTES)} then ${plain}
    else ${`dirsync${CHANNEL_SUFFIX}.`} || md5(${schema}) end`;
}

export interface OutboxEntry {
  organizationId: string;
  userId: string;
  sessionIds: readonly string[];
  reason: string;
  eventId: string | null;
  eventReceivedAt: Date | null;
}

/**
 * Appends messages in the caller's transaction and notifies the outbox channel
 * (delivered at commit); call it last, right before commit. Returns the new ids.
 */
export async function appendRevocations(
  trx: Transaction,
  entries: readonly OutboxEntry[],
): Promise<number[]> {
  if (entries.length === 0) return [];
  await sql`select pg_advisory_xact_lock(${lockKey}, ${WRITER_LOCK})`.execute(trx);
  // One statement whatever the count (insert and NOTIFY in one round trip, under the
  // writer lock): one array per column, session ids joined (unnest cannot expand an
  // array of arrays of different lengths).
  // The transaction's schema (its `set local search_path`): the table written.
  const channel = revocationOutboxChannelSql(sql`current_schema()`);
  const { rows } = await sql<{ id: number; notified: unknown }>`
    with inserted as (
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
      returning id
    )
    select id, (select pg_notify(${channel}, max(id)::text) from inserted) as notified
    from inserted order by id
  `.execute(trx);
  return rows.map((r) => r.id);
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
  // One array parameter, whatever the count (an IN list would be a parameter each).
  await sql`
    update ${sql.table('revocation_outbox')} set sent_at = clock_timestamp() where id = any(${ids}::bigint[])
  `.execute(trx);
}

/**
 * Marks `ids` sent and reads the next unsent rows after the highest of them, in one
 * statement (one round trip a batch). The read sees the statement's snapshot, from
 * before the mark, hence `id >` the batch rather than `sent_at is null` alone; a
 * lower id that commits late is left for the next pass, which starts from the lowest.
 */
export async function markSentAndReadNext(
  trx: Transaction,
  ids: readonly number[],
  limit: number,
): Promise<OutboxRow[]> {
  const { rows } = await sql<OutboxRow>`
    with marked as (
      update ${sql.table('revocation_outbox')} set sent_at = clock_timestamp()
      where id = any(${ids}::bigint[])
    )
    select * from ${sql.table('revocation_outbox')}
    where sent_at is null and id > ${Math.max(...ids)}
    order by id limit ${limit}
  `.execute(trx);
  return rows;
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
