import { defineConfig } from 'vitest/config';
import { inCI, startTestServices } from './test/support/services.ts';

// PgBouncer, a Redis Cluster and Sentinel on private ports (idempotent; a few seconds
// when they already run). DIRSYNC_TEST_SERVICES=off skips it (those tests skip too).
const services = process.env.DIRSYNC_TEST_SERVICES === 'off' ? {} : startTestServices();

// Suites that run a second time with DATABASE_URL through PgBouncer in transaction
// mode (migrations on DATABASE_DIRECT_URL): ingestion, drain, poller, reconciler.
const throughPgbouncer = [
  'test/api.webhooks.test.ts',
  'test/api.webhooks.inbox-writer.test.ts',
  'test/drain.worker.test.ts',
  'test/drain.fixtures.test.ts',
  'test/drain.crash.test.ts',
  'test/poller.cursor.test.ts',
  'test/poller.dedup.test.ts',
  'test/reconciler.resync.test.ts',
  'test/task-leases.test.ts',
];
if (services.pgbouncerPort === undefined && !inCI) {
  process.stderr.write('PgBouncer is not running: the suites through PgBouncer are skipped\n');
}

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    provide: { services },
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 10_000,
    restoreMocks: true,
    projects: [
      { extends: true as const, test: { name: 'direct', include: ['test/**/*.test.ts'] } },
      ...(services.pgbouncerPort !== undefined || inCI
        ? [
            {
              extends: true as const,
              test: {
                name: 'pgbouncer',
                include: throughPgbouncer,
                env: { DIRSYNC_TEST_DATABASE: 'pgbouncer' },
              },
            },
          ]
        : []),
    ],
  },
});
