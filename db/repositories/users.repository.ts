// Directory users: written by the drain (one upsert per batch), read by the drain's
// snapshot and the reconciler. `id` is the application's uuid, never changed once
// given; `directory_user_id` is WorkOS's and the upsert's key.
import type { Executor } from '../database.ts';
import type { User } from '../tables/users.table.ts';
import { type Column, col, updateAll, upsertUnnest } from '../unnest-upsert.ts';

/** A user as the drain reads and writes it (the timestamps are the database's). */
export type UserState = Omit<User, 'created_at' | 'updated_at'>;

/** Users by WorkOS id, and every user of the given directories. */
export async function findUsers(
  db: Executor,
  where: { directoryUserIds: readonly string[]; directoryIds: readonly string[] },
): Promise<UserState[]> {
  const { directoryUserIds, directoryIds } = where;
  if (directoryUserIds.length === 0 && directoryIds.length === 0) return [];
  const rows = await db
    .selectFrom('users')
    .selectAll()
    .where((eb) =>
      eb.or([
        ...(directoryUserIds.length > 0 ? [eb('directory_user_id', 'in', directoryUserIds)] : []),
        ...(directoryIds.length > 0 ? [eb('directory_id', 'in', directoryIds)] : []),
      ]),
    )
    .execute();
  return rows.map(({ created_at: _c, updated_at: _u, ...row }) => row);
}

export async function usersOfOrganization(db: Executor, organizationId: string): Promise<User[]> {
  return (
    db
      .selectFrom('users')
      .selectAll()
      .where('organization_id', '=', organizationId)
      // WorkOS-synced only: the reconciler compares with WorkOS, which has no SCIM directory.
      .where('directory_id', 'not in', db.selectFrom('scim_directories').select('id'))
      .execute()
  );
}

const columns: Column<UserState>[] = [
  col('id', 'uuid', (u) => u.id),
  col('directory_user_id', 'text', (u) => u.directory_user_id),
  col('organization_id', 'text', (u) => u.organization_id),
  col('directory_id', 'text', (u) => u.directory_id),
  col('idp_id', 'text', (u) => u.idp_id),
  col('email', 'text', (u) => u.email),
  col('first_name', 'text', (u) => u.first_name),
  col('last_name', 'text', (u) => u.last_name),
  col('state', 'text', (u) => u.state),
  col('role', 'text', (u) => u.role),
  // An array of arrays cannot go through unnest(), which flattens it: JSON instead,
  // its elements taken back in order.
  col(
    'roles',
    'jsonb',
    (u) => JSON.stringify(u.roles),
    `array(select r from jsonb_array_elements_text(t.roles) with ordinality as e(r, n) order by n)`,
  ),
  col('custom_attributes', 'jsonb', (u) => JSON.stringify(u.custom_attributes)),
  col('memberships_ended_at', 'timestamptz', (u) => u.memberships_ended_at),
  col('memberships_ended_by', 'text', (u) => u.memberships_ended_by),
  col('source_updated_at', 'timestamptz', (u) => u.source_updated_at),
  col('source_event_at', 'timestamptz', (u) => u.source_event_at),
  col('source_event_id', 'text', (u) => u.source_event_id),
  col('deleted_at', 'timestamptz', (u) => u.deleted_at),
];

/** Inserts or overwrites users by WorkOS id; an existing user keeps its uuid. */
export async function upsertUsers(db: Executor, rows: readonly UserState[]): Promise<void> {
  await upsertUnnest(
    db,
    'users',
    columns,
    rows,
    updateAll('directory_user_id', columns, ['id', 'directory_user_id'], 'updated_at = now()'),
  );
}
