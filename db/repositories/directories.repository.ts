// Directories: written by the drain (one upsert per batch), read by the drain's
// snapshot and the reconciler.
import type { Executor } from '../database.ts';
import type { Directory } from '../tables/directories.table.ts';
import { type Column, col, updateAll, upsertUnnest } from '../unnest-upsert.ts';

/** A directory as the drain reads and writes it (`created_at` is the database's). */
export type DirectoryState = Omit<Directory, 'created_at'>;

export async function findDirectories(
  db: Executor,
  ids: readonly string[],
): Promise<DirectoryState[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('directories')
    .select([
      'id',
      'organization_id',
      'state',
      'type',
      'name',
      'source_updated_at',
      'source_event_at',
      'source_event_id',
      'deleted_at',
    ])
    .where('id', 'in', ids)
    .execute();
}

export async function directoriesOfOrganization(
  db: Executor,
  organizationId: string,
): Promise<Directory[]> {
  return (
    db
      .selectFrom('directories')
      .selectAll()
      .where('organization_id', '=', organizationId)
      // WorkOS-synced only: the reconciler compares with WorkOS, which has no SCIM directory.
      .where('id', 'not in', db.selectFrom('scim_directories').select('id'))
      .execute()
  );
}

const columns: Column<DirectoryState>[] = [
  col('id', 'text', (d) => d.id),
  col('organization_id', 'text', (d) => d.organization_id),
  col('state', 'text', (d) => d.state),
  col('type', 'text', (d) => d.type),
  col('name', 'text', (d) => d.name),
  col('source_updated_at', 'timestamptz', (d) => d.source_updated_at),
  col('source_event_at', 'timestamptz', (d) => d.source_event_at),
  col('source_event_id', 'text', (d) => d.source_event_id),
  col('deleted_at', 'timestamptz', (d) => d.deleted_at),
];

/** Inserts or overwrites directories by id. */
export async function upsertDirectories(
  db: Executor,
  rows: readonly DirectoryState[],
): Promise<void> {
  await upsertUnnest(db, 'directories', columns, rows, updateAll('id', columns, ['id']));
}
