// One isolated world per test file: its own Postgres schema (migrated) and its own
// Redis key prefix, so files run in parallel. Resources opened through the context
// are tracked: a test that leaves one open fails.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, inject } from 'vitest';
import { type Config, loadConfig, withOverrides } from '../../common/config.ts';
import { createLogger, type Logger } from '../../common/logger.ts';
import { openResources, type Resources } from '../../common/resources.ts';
import { createDatabase, type Database } from '../../db/database.ts';
import { migrateToLatest } from '../../db/migrate.ts';
import { type Service, startService } from '../../service.ts';
import { failOnLeaks, track } from './leaks.ts';

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
  /** A raw Redis connection (tracked). */
  redis(): Redis;
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

export function useTestContext(name: string): TestContext {
  const id = `${name
    .replace(/[^a-z0-9]/gi, '_')
    .toLowerCase()
    .slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    DATABASE_URL: inject('databaseUrl'),
    REDIS_URL: inject('redisUrl'),
    DATABASE_SCHEMA: `t_${id}`,
    DATABASE_POOL_MAX: '5',
    REDIS_PREFIX: `dirsync-test-${id}`,
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
    await migrateTolerantly(db, config.DATABASE_SCHEMA);
  });
  afterAll(async () => {
    await sql`drop schema if exists ${sql.id(config.DATABASE_SCHEMA)} cascade`.execute(db);
    await db.destroy();
    const redis = new Redis(config.REDIS_URL);
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(
          cursor,
          'MATCH',
          `${config.REDIS_PREFIX}:*`,
          'COUNT',
          1000,
        );
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
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
      const redis = new Redis(config.REDIS_URL);
      return track('redis', redis, 'quit');
    },
    track,
  };
}
