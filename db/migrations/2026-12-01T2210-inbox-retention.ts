// Inbox retention: finding the rows old enough to delete (applied or ignored, by
// arrival time) without scanning the table.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create index inbox_done_received_idx on inbox (received_at)
      where status in ('applied', 'ignored')
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists inbox_done_received_idx`.execute(db);
}
