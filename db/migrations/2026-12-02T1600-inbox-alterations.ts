// Fail closed: what had to be changed for an event to be stored or applied (strings
// Postgres cannot hold, nesting too deep, invalid fields dropped from a deprovisioning)
// is kept on its inbox row, as a JSON array of { path, change, reason? }.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table inbox add column alterations jsonb`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table inbox drop column if exists alterations`.execute(db);
}
