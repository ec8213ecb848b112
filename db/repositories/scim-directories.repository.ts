// SCIM directories and their bearer tokens. Tokens are kept as sha256 hashes; the
// caller compares them in constant time (api/scim/auth.ts).
import { sql } from 'kysely';
import type { Executor, Transaction } from '../database.ts';
import type { ScimDirectory } from '../tables/scim.table.ts';

export async function insertScimDirectory(
  db: Executor,
  directory: { id: string; organizationId: string; name: string | null; tokenHash: Buffer },
): Promise<ScimDirectory> {
  const row = await db
    .insertInto('scim_directories')
    .values({ id: directory.id, organization_id: directory.organizationId, name: directory.name })
    .returningAll()
    .executeTakeFirstOrThrow();
  await db
    .insertInto('scim_tokens')
    .values({ directory_id: directory.id, token_hash: directory.tokenHash })
    .execute();
  return row;
}

export async function findScimDirectory(
  db: Executor,
  id: string,
): Promise<ScimDirectory | undefined> {
  return db.selectFrom('scim_directories').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listScimDirectories(
  db: Executor,
  organizationId?: string,
): Promise<ScimDirectory[]> {
  return db
    .selectFrom('scim_directories')
    .selectAll()
    .$if(organizationId !== undefined, (qb) => qb.where('organization_id', '=', organizationId!))
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** A live directory and the hashes of the tokens that open it now, in one query. */
export async function directoryWithTokens(
  db: Executor,
  directoryId: string,
): Promise<{ directory: ScimDirectory; hashes: Buffer[] } | undefined> {
  const row = await db
    .selectFrom('scim_directories as d')
    .selectAll('d')
    .select((eb) =>
      eb
        .selectFrom('scim_tokens as t')
        .select(sql<Buffer[]>`coalesce(array_agg(t.token_hash), '{}')`.as('hashes'))
        .whereRef('t.directory_id', '=', 'd.id')
        .where((w) =>
          w.or([w('t.expires_at', 'is', null), w('t.expires_at', '>', sql<Date>`now()`)]),
        )
        .as('hashes'),
    )
    .where('d.id', '=', directoryId)
    .where('d.deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row) return undefined;
  const { hashes, ...directory } = row;
  return { directory, hashes: hashes ?? [] };
}

/**
 * Adds a token and makes every earlier one expire `graceMs` from now (an earlier
 * expiry stays). Under a row lock of the directory, so two rotations do not race.
 */
export async function rotateScimToken(
  trx: Transaction,
  directoryId: string,
  tokenHash: Buffer,
  graceMs: number,
): Promise<void> {
  await trx
    .selectFrom('scim_directories')
    .select('id')
    .where('id', '=', directoryId)
    .forUpdate()
    .execute();
  const expiresAt = sql<Date>`now() + make_interval(secs => ${graceMs / 1000}::float8)`;
  await trx
    .updateTable('scim_tokens')
    .set({ expires_at: expiresAt })
    .where('directory_id', '=', directoryId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', expiresAt)]))
    .execute();
  await trx
    .insertInto('scim_tokens')
    .values({ directory_id: directoryId, token_hash: tokenHash })
    .execute();
}

/** Marks a directory deleted: its tokens stop working at once. */
export async function markScimDirectoryDeleted(
  db: Executor,
  id: string,
): Promise<ScimDirectory | undefined> {
  return db
    .updateTable('scim_directories')
    .set({ deleted_at: sql<Date>`coalesce(deleted_at, now())` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** Statuses of events by id (SCIM checks its own once applied). */
export async function eventStatuses(
  db: Executor,
  eventIds: readonly string[],
): Promise<Map<string, string>> {
  if (eventIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('inbox')
    .select(['event_id', 'status'])
    .where('event_id', 'in', [...eventIds])
    .execute();
  return new Map(rows.map((r) => [r.event_id, r.status]));
}

/** Ids of pending SCIM events of an organization made up to `upTo` (ids sort by time). */
export async function pendingScimEventIds(
  db: Executor,
  organizationId: string,
  upTo: string,
): Promise<string[]> {
  const rows = await db
    .selectFrom('inbox')
    .select('event_id')
    .where('organization_id', '=', organizationId)
    .where('status', '=', 'pending')
    .where('source', '=', 'scim')
    .where('event_id', '<=', upTo)
    .limit(1000)
    .execute();
  return rows.map((r) => r.event_id);
}
