// The Kysely handle for dirsync's tables. Every connection's search_path is the
// configured schema, so queries (typed or raw SQL) name tables without a schema.
import { Kysely, type Transaction as KyselyTransaction, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Config } from '../common/config.ts';
import type { Logger } from '../common/logger.ts';
import type { AuditLogTable } from './tables/audit-log.table.ts';
import type { DirectoriesTable } from './tables/directories.table.ts';
import type { GroupMembershipsTable } from './tables/group-memberships.table.ts';
import type { GroupsTable } from './tables/groups.table.ts';
import type { InboxTable } from './tables/inbox.table.ts';
import type { OrganizationsTable } from './tables/organizations.table.ts';
import type { PollCursorsTable } from './tables/poll-cursors.table.ts';
import type { RevocationOutboxTable } from './tables/revocation-outbox.table.ts';
import type {
  ScimDirectoriesTable,
  ScimGroupMembersTable,
  ScimGroupsTable,
  ScimTokensTable,
  ScimUsersTable,
} from './tables/scim.table.ts';
import type { SessionsTable } from './tables/sessions.table.ts';
import type { UsersTable } from './tables/users.table.ts';

export interface DB {
  organizations: OrganizationsTable;
  directories: DirectoriesTable;
  users: UsersTable;
  groups: GroupsTable;
  group_memberships: GroupMembershipsTable;
  sessions: SessionsTable;
  audit_log: AuditLogTable;
  inbox: InboxTable;
  poll_cursors: PollCursorsTable;
  revocation_outbox: RevocationOutboxTable;
  scim_directories: ScimDirectoriesTable;
  scim_tokens: ScimTokensTable;
  scim_users: ScimUsersTable;
  scim_groups: ScimGroupsTable;
  scim_group_members: ScimGroupMembersTable;
}

export type Database = Kysely<DB>;
/** A transaction: functions that lock rows or must run atomically ask for one. */
export type Transaction = KyselyTransaction<DB>;
export type Executor = Kysely<DB> | Transaction;

// bigint (int8) counts come back as numbers: they never exceed 2^53 here.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

export interface DatabaseOptions {
  logger?: Logger;
  poolMax?: number;
  applicationName?: string;
}

export function createPool(
  config: Pick<Config, 'DATABASE_URL' | 'DATABASE_SCHEMA' | 'DATABASE_POOL_MAX'>,
  options: DatabaseOptions = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: options.poolMax ?? config.DATABASE_POOL_MAX,
    options: `-c search_path=${config.DATABASE_SCHEMA}`,
    application_name: options.applicationName ?? `dirsync:${config.DATABASE_SCHEMA}`.slice(0, 63),
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // A client losing its connection (Postgres restarting, a backend terminated) must not
  // crash the process: pg emits 'error' on the client, which is uncaught while the
  // client is checked out (between two queries of a transaction). The query in flight,
  // if any, still rejects, and the transient-error retry takes over.
  pool.on('error', (err) => options.logger?.warn({ err }, 'postgres idle client error'));
  pool.on('connect', (client) => {
    client.on('error', (err) => options.logger?.warn({ err }, 'postgres connection lost'));
  });
  return pool;
}

export function createDatabase(
  config: Pick<Config, 'DATABASE_URL' | 'DATABASE_SCHEMA' | 'DATABASE_POOL_MAX'>,
  options: DatabaseOptions = {},
): Database {
  const pool = createPool(config, options);
  const logger = options.logger;
  return new Kysely<DB>({
    dialect: new PostgresDialect({ pool }),
    log: logger
      ? (event) => {
          if (event.level === 'error') {
            logger.debug(
              { durationMs: event.queryDurationMillis, err: event.error },
              'query failed',
            );
          } else if (logger.isLevelEnabled('trace')) {
            logger.trace({ durationMs: event.queryDurationMillis }, 'query');
          }
        }
      : undefined,
  });
}

/** Whether Postgres answers a trivial query. */
export async function pingDatabase(db: Executor): Promise<void> {
  await sql`select 1`.execute(db);
}

/**
 * Lets this transaction's commit return before its WAL is flushed to disk: a crash
 * in between loses the transaction whole, as if it had never committed. Only for
 * work that is applied again after such a loss.
 */
export async function commitWithoutFlush(trx: Transaction): Promise<void> {
  await sql`set local synchronous_commit = off`.execute(trx);
}
