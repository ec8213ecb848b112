// The extra services of the scale-out tests (PgBouncer, a Redis Cluster, Redis
// Sentinel), started by test/services/start.sh when vitest loads its configuration.
// In CI a missing one fails the tests that need it; elsewhere they are skipped
// with a message saying how to get it.
import { execFileSync } from 'node:child_process';

export interface TestServices {
  /** The PgBouncer port (transaction mode) in front of the test Postgres. */
  pgbouncerPort?: number;
  clusterNodes?: string;
  sentinels?: string;
  sentinelName?: string;
  /** Why some are missing: the start script's error output. */
  problem?: string;
}

export const inCI = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());

/** Runs the start script (idempotent) and reads what it printed. */
export function startTestServices(): TestServices {
  let out = '';
  let problem: string | undefined;
  try {
    out = execFileSync('bash', ['test/services/start.sh'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    out = e.stdout ?? '';
    problem = (e.stderr || e.message).trim();
  }
  const env = Object.fromEntries(
    out
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return {
    pgbouncerPort: env.TEST_PGBOUNCER_PORT ? Number(env.TEST_PGBOUNCER_PORT) : undefined,
    clusterNodes: env.TEST_REDIS_CLUSTER_NODES,
    sentinels: env.TEST_REDIS_SENTINELS,
    sentinelName: env.TEST_REDIS_SENTINEL_NAME,
    problem,
  };
}

/**
 * Whether the tests of `what` can run: true when it is there; in CI, throws (the
 * file fails, clearly); elsewhere false, after saying so on stderr.
 */
export function serviceAvailable(services: TestServices, what: string, present: boolean): boolean {
  if (present) return true;
  const message = `${what} is not running (test/services/start.sh: ${services.problem ?? 'not started'})`;
  if (inCI) throw new Error(`${message}; CI needs it`);
  process.stderr.write(`skipping the ${what} tests: ${message}\n`);
  return false;
}
