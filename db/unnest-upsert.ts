// Multi-row upserts through unnest(): a chunk's rows go as one array per column,
// so that a statement of a thousand rows has a few dozen parameters, not tens of
// thousands (cheaper to build here and to parse and plan in Postgres). Each
// repository declares its table's columns; this builds the statement.
import { sql } from 'kysely';
import type { Executor } from './database.ts';

const CHUNK = 1000;

function* chunks<T>(items: readonly T[], size = CHUNK): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** A column of an unnest() upsert: its name, its Postgres type, how a row gives it. */
export interface Column<R> {
  name: string;
  type: string;
  value: (row: R) => unknown;
  /** What the column is selected as, from the unnested value `t.<name>`. */
  select?: string;
}

export const col = <R>(
  name: string,
  type: string,
  value: (row: R) => unknown,
  select?: string,
): Column<R> => ({ name, type, value, ...(select ? { select } : {}) });

/**
 * `insert into <table> (cols) select … from unnest($1::t1[], …) … on conflict`,
 * for `rows` in chunks. `conflict` is the SQL after `on conflict`.
 */
export async function upsertUnnest<R>(
  db: Executor,
  table: string,
  columns: readonly Column<R>[],
  rows: readonly R[],
  conflict: string,
): Promise<void> {
  const names = columns.map((c) => c.name).join(', ');
  const selected = columns.map((c) => c.select ?? `t.${c.name}`).join(', ');
  for (const chunk of chunks(rows)) {
    const arrays = columns.map((c) => sql`${chunk.map(c.value)}::${sql.raw(c.type)}[]`);
    await sql`
      insert into ${sql.table(table)} (${sql.raw(names)})
      select ${sql.raw(selected)}
      from unnest(${sql.join(arrays)}) as t(${sql.raw(names)})
      on conflict ${sql.raw(conflict)}
    `.execute(db);
  }
}

/**
 * `(<target>) do update set c = excluded.c, …` for every column but `skip`, plus any
 * extra assignments.
 */
export function updateAll<R>(
  target: string,
  columns: readonly Column<R>[],
  skip: readonly string[],
  extra = '',
): string {
  const set = columns
    .filter((c) => !skip.includes(c.name))
    .map((c) => `${c.name} = excluded.${c.name}`)
    .join(', ');
  return `(${target}) do update set ${set}${extra ? `, ${extra}` : ''}`;
}
