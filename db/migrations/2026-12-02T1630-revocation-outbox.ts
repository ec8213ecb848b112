// The revocation outbox: one row per user whose sessions a transaction revoked,
// written by that same transaction, so a committed revocation always has its
// message waiting. The worker's relay sends unsent rows to Redis in id order, marks
// them sent, and deletes sent rows after a retention.
//
// Writers serialize on an advisory lock taken just before their insert and held to
// commit (db/repositories/revocation-outbox.repository.ts), so ids commit in
// ascending order and id order is commit order.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table revocation_outbox (
      id bigint generated always as identity primary key,
      organization_id text not null,
      user_id uuid not null,
      session_ids uuid[] not null,
      reason text not null,
      event_id text,
      -- When the event that revoked arrived: the relay's end-to-end latency metric.
      event_received_at timestamptz,
      revoked_at timestamptz not null default now(),
      sent_at timestamptz
    );
    create index revocation_outbox_unsent_idx on revocation_outbox (id) where sent_at is null;
    create index revocation_outbox_sent_idx on revocation_outbox (sent_at) where sent_at is not null;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists revocation_outbox`.execute(db);
}
