// The status page's recent deprovisionings and revocations, and its time to revoke:
// the newest audit rows of those two actions across every organization. A partial
// index keeps that a short backwards index scan, and costs nothing for the other
// audit rows a batch writes (most of them).
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create index audit_log_revocations_at_idx on audit_log (at)
      where action in ('user_deprovisioned', 'sessions_revoked');
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists audit_log_revocations_at_idx`.execute(db);
}
