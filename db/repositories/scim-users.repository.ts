// SCIM Users as the identity provider stored them: one row per user, found by id,
// by userName (case-insensitive, unique per directory) or by a filter.
import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { DB, Executor, Transaction } from '../database.ts';
import type { ScimUserRow } from '../tables/scim.table.ts';

/** A filter the repository can run, translated from a SCIM filter by the API. */
export type ScimCondition =
  | { kind: 'and' | 'or'; of: ScimCondition[] }
  | { kind: 'not'; of: ScimCondition }
  | {
      kind: 'attr';
      attr: 'userName' | 'externalId' | 'id' | 'displayName';
      op: 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'pr';
      value: string;
    }
  | { kind: 'email'; op: 'eq' | 'co' | 'sw' | 'ew' | 'pr'; value: string; type?: string }
  | { kind: 'active'; value: boolean };

type UserEb = ExpressionBuilder<DB, 'scim_users'>;

function like(op: 'co' | 'sw' | 'ew', value: string): string {
  const escaped = value.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
  return op === 'co' ? `%${escaped}%` : op === 'sw' ? `${escaped}%` : `%${escaped}`;
}

/** A text comparison; `exact` for caseExact attributes (RFC 7643 §2.2). */
function compare(
  column: Expression<string | null>,
  op: 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'pr',
  value: string,
  exact: boolean,
): Expression<SqlBool> {
  if (op === 'pr') return sql<SqlBool>`(${column} is not null and ${column} <> '')`;
  if (op === 'eq' || op === 'ne') {
    const cmp = op === 'eq' ? sql.raw('=') : sql.raw('is distinct from');
    return exact
      ? sql<SqlBool>`${column} ${cmp} ${value}`
      : sql<SqlBool>`lower(${column}) ${cmp} lower(${value})`;
  }
  return sql<SqlBool>`lower(${column}) like ${like(op, value)}`;
}

export function userCondition(eb: UserEb, c: ScimCondition): Expression<SqlBool> {
  switch (c.kind) {
    case 'and':
      return eb.and(c.of.map((x) => userCondition(eb, x)));
    case 'or':
      return eb.or(c.of.map((x) => userCondition(eb, x)));
    case 'not':
      return eb.not(userCondition(eb, c.of));
    case 'active':
      return eb('active', '=', c.value);
    case 'attr': {
      const column =
        c.attr === 'userName'
          ? eb.ref('user_name')
          : c.attr === 'externalId'
            ? eb.ref('external_id')
            : c.attr === 'id'
              ? eb.ref('id')
              : sql<string>`attributes ->> 'displayName'`;
      return compare(column, c.op, c.value, c.attr === 'externalId' || c.attr === 'id');
    }
    case 'email': {
      const typeMatch =
        c.type === undefined ? sql`true` : sql`lower(e ->> 'type') = lower(${c.type})`;
      return sql<SqlBool>`exists (
        select 1 from jsonb_array_elements(
          case when jsonb_typeof(attributes -> 'emails') = 'array' then attributes -> 'emails' else '[]'::jsonb end
        ) e
        where ${compare(sql<string>`e ->> 'value'`, c.op, c.value, false)} and ${typeMatch}
      )`;
    }
  }
}

export async function findScimUser(
  db: Executor,
  directoryId: string,
  id: string,
): Promise<ScimUserRow | undefined> {
  return db
    .selectFrom('scim_users')
    .selectAll()
    .where('directory_id', '=', directoryId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** The user's row, locked until the transaction ends (one writer per user at a time). */
export async function lockScimUser(
  trx: Transaction,
  directoryId: string,
  id: string,
): Promise<ScimUserRow | undefined> {
  return trx
    .selectFrom('scim_users')
    .selectAll()
    .where('directory_id', '=', directoryId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

export async function findScimUsersByIds(
  db: Executor,
  directoryId: string,
  ids: readonly string[],
): Promise<ScimUserRow[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('scim_users')
    .selectAll()
    .where('directory_id', '=', directoryId)
    .where('id', 'in', [...ids])
    .execute();
}

export async function listScimUsers(
  db: Executor,
  directoryId: string,
  options: { filter?: ScimCondition; offset: number; limit: number },
): Promise<{ total: number; rows: ScimUserRow[] }> {
  const base = db
    .selectFrom('scim_users')
    .where('directory_id', '=', directoryId)
    .$if(options.filter !== undefined, (qb) =>
      qb.where((eb) => userCondition(eb, options.filter!)),
    );
  const [count, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    options.limit === 0
      ? Promise.resolve([])
      : base.selectAll().orderBy('id').offset(options.offset).limit(options.limit).execute(),
  ]);
  return { total: Number(count.n), rows };
}

export async function insertScimUser(db: Executor, row: ScimUserRow): Promise<void> {
  await db
    .insertInto('scim_users')
    .values({ ...row, attributes: JSON.stringify(row.attributes) })
    .execute();
}

export async function updateScimUser(db: Executor, row: ScimUserRow): Promise<void> {
  await db
    .updateTable('scim_users')
    .set({
      user_name: row.user_name,
      external_id: row.external_id,
      active: row.active,
      attributes: JSON.stringify(row.attributes),
      last_modified: row.last_modified,
    })
    .where('directory_id', '=', row.directory_id)
    .where('id', '=', row.id)
    .execute();
}

/** Deletes the user (its group memberships go with it, by cascade). */
export async function deleteScimUser(db: Executor, directoryId: string, id: string): Promise<void> {
  await db
    .deleteFrom('scim_users')
    .where('directory_id', '=', directoryId)
    .where('id', '=', id)
    .execute();
}

/** The ids of the groups a user is a member of. */
export async function groupIdsOfUser(
  db: Executor,
  directoryId: string,
  userId: string,
): Promise<string[]> {
  const rows = await db
    .selectFrom('scim_group_members')
    .select('group_id')
    .where('directory_id', '=', directoryId)
    .where('user_id', '=', userId)
    .execute();
  return rows.map((r) => r.group_id);
}
