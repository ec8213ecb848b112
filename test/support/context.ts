// One isolated world per test file: its own Postgres schema (migrated) and its own
// Redis key prefix, so files run in parallel. Resources opened through the context
// are tracked: a test that leaves one open fails.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, inject } from 'vitest';
import { type Config, loadConfig, withOverrides } from '../../common/config.ts';
import { createLogger, type Logger } from '../../common/logger.ts';
import { createRedis, deleteKeysWithPrefix, type Redis } from '../../common/redis.ts';
import { openResources, type Resources } from '../../common/resources.ts';
import { createDatabase, type Database } from '../../db/database.ts';
import { migrateToLatest } from '../../db/migrate.ts';
import { type Service, startService } from '../../service.ts';
import { failOnLeaks, track } from './leaks.ts';
import { inCI } from './services.ts';

export interface TestContext {
  readonly config: Config;
  readonly logger: Logger;
  /** A database handle for assertions, open for the whole file. */
  readonly db: Database;
  /** Opens api/worker resources with this file's schema and prefix (tracked). */
  openResources(overrides?: Partial<Config>): Resources;
  /** Starts api and/or worker on a random port (tracked). */
  startService(
    options: { api: boolean; worker: boolean },
    overrides?: Partial<Config>,
  ): Promise<Service>;
  /** A raw Redis connection, in this file's Redis mode (tracked). */
  redis(): Redis;
  /** The variables a dirsync child process needs to use this file's Postgres, schema and Redis. */
  env(): Record<string, string>;
  /**
   * Tracks anything else a test opens (a server, a queue, a database handle): the
   * test fails if `target[method]` was not called by its end.
   */
  track<T extends object>(name: string, target: T, method?: keyof T & string): T;
}

/**
 * Migrates this file's schema. Kysely's migrator looks for its table through a
 * catalog query over every schema, which fails ("schema … does not exist") when
 * another test file, or another run on the same database, drops its own schema at
 * that moment; that is not this schema's failure, so it is tried again.
 */
async function migrateTolerantly(db: Database, schema: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await migrateToLatest(db, schema);
      return;
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const other = cause?.code === '3F000' && !cause.message?.includes(`"${schema}"`);
      if (!other || attempt === 5) throw err;
    }
  }
}

export type RedisMode = 'standalone' | 'cluster' | 'sentinel';

/**
 * DATABASE_URL and DATABASE_DIRECT_URL of this run: Postgres itself, or, in the
 * `pgbouncer` project (DIRSYNC_TEST_DATABASE=pgbouncer), PgBouncer in front of it.
 */
function databaseEnv(): Record<string, string> {
  const direct = inject('databaseUrl');
  if (process.env.DIRSYNC_TEST_DATABASE !== 'pgbouncer') return { DATABASE_URL: direct };
  const port = inject('services').pgbouncerPort;
  if (port === undefined) {
    throw new Error(
      `PgBouncer is not running (test/services/start.sh: ${inject('services').problem ?? 'not started'})${inCI ? '; CI needs it' : ''}`,
    );
  }
  const pooled = new URL(direct);
  pooled.hostname = '127.0.0.1';
  pooled.port = String(port);
  return { DATABASE_URL: pooled.toString(), DATABASE_DIRECT_URL: direct };
}

/** The REDIS_* variables of a mode (the services of test/services/start.sh). */
export function redisEnv(mode: RedisMode, id: string): Record<string, string> {
  const services = inject('services');
  if (mode === 'cluster') {
    return {
      REDIS_CLUSTER_NODES: services.clusterNodes ?? '',
      REDIS_PREFIX: `{dirsync-test-${id}}`,
    };
  }
  if (mode === 'sentinel') {
    return {
      REDIS_SENTINELS: services.sentinels ?? '',
      REDIS_SENTINEL_NAME: services.sentinelName ?? '',
      REDIS_PREFIX: `dirsync-test-${id}`,
    };
  }
  return { REDIS_URL: inject('redisUrl'), REDIS_PREFIX: `dirsync-test-${id}` };
}

export function useTestContext(name: string, options: { redis?: RedisMode } = {}): TestContext {
  const id = `${name
    .replace(/[^a-z0-9]/gi, '_')
    .toLowerCase()
    .slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const connections = {
    ...databaseEnv(),
    ...redisEnv(options.redis ?? 'standalone', id),
    DATABASE_SCHEMA: `t_${id}`,
  };
  const config = loadConfig({
    ...process.env,
    REDIS_URL: undefined,
    REDIS_SENTINELS: undefined,
    REDIS_CLUSTER_NODES: undefined,
    DATABASE_DIRECT_URL: undefined,
    NODE_ENV: 'test',
    ...connections,
    DATABASE_POOL_MAX: '5',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    WORKOS_WEBHOOK_SECRET: 'whsec_test_primary',
    WORKOS_API_KEY: '',
    WORKOS_POLL_INTERVAL_MS: '0',
    // One clock here (the fake WorkOS's is this process's): resyncs right after writes.
    WORKOS_CLOCK_SKEW_MS: '0',
    SWEEP_INTERVAL_MS: '60000',
    PORT: '0',
    // Worker-only services in parallel files would all take 9464; a test that wants
    // the worker's metrics listener gives it a port.
    WORKER_METRICS_PORT: '0',
  });
  const logger = createLogger(config, `test:${name}`);
  const db = createDatabase(config);

  failOnLeaks();
  beforeAll(async () => {
    // On DATABASE_DIRECT_URL, as the service migrates: Kysely's migration lock is a
    // session-level advisory lock, which a transaction pooler would leave held on
    // one of its server connections (every later migration on the database waits).
    const migrating = createDatabase(config, { direct: true, poolMax: 1 });
    try {
      await migrateTolerantly(migrating, config.DATABASE_SCHEMA);
    } finally {
      await migrating.destroy();
    }
  });
  afterAll(async () => {
    await sql`drop schema if exists ${sql.id(config.DATABASE_SCHEMA)} cascade`.execute(db);
    await db.destroy();
    const redis = createRedis(config, 'worker');
    try {
      await deleteKeysWithPrefix(redis, config.REDIS_PREFIX);
    } finally {
      redis.disconnect();
    }
  });

  return {
    config,
    logger,
    db,
    openResources(overrides = {}) {
      return track('resources', openResources(withOverrides(config, overrides), logger));
    },
    async startService(options, overrides = {}) {
      const service = await startService(
        withOverrides(config, { MIGRATE_ON_START: false, ...overrides }),
        logger,
        options,
      );
      return track('service', service, 'stop');
    },
    redis() {
      const redis = createRedis(config, 'worker');
      return track('redis', redis, 'quit');
    },
    env() {
      return { ...connections };
    },
    track,
  };
}
