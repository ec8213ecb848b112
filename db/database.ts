// The Kysely handle for dirsync's tables, in DATABASE_SCHEMA. No session state, so
// DATABASE_URL may be a transaction pooler (PgBouncer `pool_mode = transaction`):
// no startup parameters; queries built with Kysely name the schema (WithSchemaPlugin);
// raw SQL names tables with `sql.table('inbox')`, qualified by the same plugin; and
// every transaction starts with `set local search_path`, for raw SQL and functions.
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type DatabaseMetadata,
  IdentifierNode,
  Kysely,
  type KyselyPlugin,
  type Transaction as KyselyTransaction,
  OperationNodeTransformer,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  PostgresDialect,
  type PostgresDialectConfig,
  PostgresDriver,
  RawNode,
  type ReferenceNode,
  type RootOperationNode,
  type SchemableIdentifierNode,
  sql,
  type TableMetadata,
  type TransactionSettings,
  WithSchemaPlugin,
} from 'kysely';
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
import type { TaskLeasesTable } from './tables/task-leases.table.ts';
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
  task_leases: TaskLeasesTable;
}

export type Database = Kysely<DB>;
/** A transaction: functions that lock rows or must run atomically ask for one. */
export type Transaction = KyselyTransaction<DB>;
export type Executor = Kysely<DB> | Transaction;

// bigint (int8) counts come back as numbers: they never exceed 2^53 here.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

/** In raw SQL (a RawNode), tables are the `sql.table()` fragments: each gets the schema. */
class RawTableSchema extends OperationNodeTransformer {
  readonly #schema: string;
  constructor(schema: string) {
    super();
    this.#schema = schema;
  }
  protected override transformSchemableIdentifier(node: SchemableIdentifierNode) {
    return node.schema ? node : { ...node, schema: IdentifierNode.create(this.#schema) };
  }
  // `sql.ref('u.id')` names an alias, not a table.
  protected override transformReference(node: ReferenceNode) {
    return node;
  }
}

class SchemaPlugin implements KyselyPlugin {
  readonly #builder: WithSchemaPlugin;
  readonly #raw: RawTableSchema;
  constructor(schema: string) {
    this.#builder = new WithSchemaPlugin(schema);
    this.#raw = new RawTableSchema(schema);
  }
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (RawNode.is(args.node)) return this.#raw.transformNode(args.node, args.queryId);
    return this.#builder.transformQuery(args);
  }
  transformResult(args: PluginTransformResultArgs) {
    return this.#builder.transformResult(args);
  }
}

/** Opens every transaction with `set local search_path` in the same round trip. */
class SchemaDriver extends PostgresDriver {
  readonly #setLocal: string;
  constructor(config: PostgresDialectConfig, schema: string) {
    super(config);
    this.#setLocal = `set local search_path to ${pg.escapeIdentifier(schema)}`;
  }
  override async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
    if (settings.isolationLevel || settings.accessMode) {
      await super.beginTransaction(connection, settings);
      await connection.executeQuery(CompiledQuery.raw(this.#setLocal));
      return;
    }
    // No parameters: the simple query protocol, which takes two statements at once.
    await connection.executeQuery(CompiledQuery.raw(`begin; ${this.#setLocal}`));
  }
}

/**
 * What Kysely's Migrator asks (which schemas and tables exist), about this schema
 * only. The stock introspector reads every column of every table in the database
 * (with pg_get_serial_sequence on each), which fails with "schema … does not exist"
 * when another schema is dropped meanwhile, as parallel test runs and tenants do.
 */
class SchemaIntrospector implements DatabaseIntrospector {
  readonly #db: Kysely<unknown>;
  readonly #schema: string;
  constructor(db: Kysely<unknown>, schema: string) {
    this.#db = db;
    this.#schema = schema;
  }
  async getSchemas() {
    const { rows } = await sql<{ name: string }>`
      select nspname as name from pg_catalog.pg_namespace where nspname = ${this.#schema}`.execute(
      this.#db,
    );
    return rows;
  }
  async getTables(): Promise<TableMetadata[]> {
    const { rows } = await sql<{ name: string; is_view: boolean }>`
      select table_name as name, table_type = 'VIEW' as is_view
      from information_schema.tables where table_schema = ${this.#schema}`.execute(this.#db);
    return rows.map((r) => ({
      name: r.name,
      schema: this.#schema,
      isView: r.is_view,
      columns: [],
    }));
  }
  async getMetadata(): Promise<DatabaseMetadata> {
    return { tables: await this.getTables() };
  }
}

class SchemaDialect extends PostgresDialect {
  readonly #config: PostgresDialectConfig;
  readonly #schema: string;
  constructor(config: PostgresDialectConfig, schema: string) {
    super(config);
    this.#config = config;
    this.#schema = schema;
  }
  override createDriver() {
    return new SchemaDriver(this.#config, this.#schema);
  }
  override createIntrospector(db: Kysely<unknown>) {
    return new SchemaIntrospector(db, this.#schema);
  }
}

export interface DatabaseOptions {
  logger?: Logger;
  poolMax?: number;
  applicationName?: string;
  /** DATABASE_DIRECT_URL instead of DATABASE_URL: migrations, creating the database. */
  direct?: boolean;
}

type DbConfig = Pick<
  Config,
  'DATABASE_URL' | 'DATABASE_DIRECT_URL' | 'DATABASE_SCHEMA' | 'DATABASE_POOL_MAX'
>;

export function createPool(config: DbConfig, options: DatabaseOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.direct ? config.DATABASE_DIRECT_URL : config.DATABASE_URL,
    max: options.poolMax ?? config.DATABASE_POOL_MAX,
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

export function createDatabase(config: DbConfig, options: DatabaseOptions = {}): Database {
  const pool = createPool(config, options);
  const logger = options.logger;
  return new Kysely<DB>({
    dialect: new SchemaDialect({ pool }, config.DATABASE_SCHEMA),
    plugins: [new SchemaPlugin(config.DATABASE_SCHEMA)],
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
