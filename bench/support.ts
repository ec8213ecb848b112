// What the benchmarks share: a scratch schema, child service processes, signing,
// percentiles, peak memory, and the one-JSON-line summary.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { sql } from 'kysely';
import { type Config, loadConfig } from '../common/config.ts';
import { createDatabase, type Database } from '../db/database.ts';
import { ensureDatabase, migrateToLatest } from '../db/migrate.ts';

export function benchConfig(name: string, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ...process.env,
    DATABASE_SCHEMA: `bench_${name}`,
    REDIS_PREFIX: `dirsync-bench-${name}`,
    LOG_LEVEL: 'silent',
    WORKOS_POLL_INTERVAL_MS: '0',
    // No worker metrics listener: a service already running here may hold its port.
    WORKER_METRICS_PORT: '0',
    ...overrides,
  });
}

/** A fresh, migrated schema for one benchmark. */
export async function freshSchema(config: Config): Promise<Database> {
  await ensureDatabase(config);
  const db = createDatabase(config, { poolMax: 8 });
  await sql`drop schema if exists ${sql.id(config.DATABASE_SCHEMA)} cascade`.execute(db);
  await migrateToLatest(db, config.DATABASE_SCHEMA);
  return db;
}

export async function dropSchema(db: Database, config: Config): Promise<void> {
  await sql`drop schema if exists ${sql.id(config.DATABASE_SCHEMA)} cascade`.execute(db);
}

export function configEnv(config: Config): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    env[key] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return env;
}

/** Starts `node <entry>` with the config; resolves once it logged '… started'. */
/**
 * The worker's V8 flags, as `npm run start:worker` and the Docker image give them: a
 * young generation of at most 8 MB per semi-space. V8's default, sized from the
 * machine's memory, let the worker's resident memory reach ~370 MB at a live heap of
 * ~35 MB (bench:apply, --trace-gc) for no measurable gain in speed.
 */
export const WORKER_NODE_FLAGS = ['--max-semi-space-size=8'];

export async function startProcess(
  entry: string,
  config: Config,
  extra: Record<string, string> = {},
): Promise<{ child: ChildProcess; address?: string; metricsAddress?: string }> {
  const flags = entry.startsWith('worker/') ? WORKER_NODE_FLAGS : [];
  const child = spawn(process.execPath, [...flags, entry], {
    env: {
      ...process.env,
      ...configEnv(config),
      LOG_LEVEL: 'info',
      MIGRATE_ON_START: 'false',
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const parsed = JSON.parse(line) as { msg?: string; address?: string; metricsAddress?: string };
    if (parsed.msg === 'dirsync started' || parsed.msg === 'naive receiver started') {
      lines.on('line', () => {}); // keep draining stdout
      return { child, address: parsed.address, metricsAddress: parsed.metricsAddress };
    }
  }
  throw new Error(`${entry} exited before it started`);
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

/** Peak resident memory of a running process, in MB (Linux: VmHWM). */
export function peakMemoryMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Samples a process's resident memory every `intervalMs`; `peak()` since the last reset, in MB. */
export function memorySampler(pid: number, intervalMs = 50) {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      const kb = Number(
        /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0,
      );
      peak = Math.max(peak, kb / 1024);
    } catch {
      // the process ended
    }
  }, intervalMs);
  timer.unref();
  return {
    peak: () => Math.round(peak * 10) / 10,
    reset: () => {
      peak = 0;
    },
    stop: () => clearInterval(timer),
  };
}

export function signWebhook(body: string, secret: string, timestamp = Date.now()): string {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp}, v1=${signature}`;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Prints a line for people; the summary goes last, as one JSON object. */
export function report(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** A TCP port free on 127.0.0.1 just now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The process's event-loop delay since the previous call, from its /metrics
 * (prom-client resets the delay histogram at each scrape): max and p99 in ms.
 */
export async function eventLoopDelay(
  metricsAddress: string | undefined,
): Promise<{ maxMs: number; p99Ms: number } | null> {
  if (!metricsAddress) return null;
  const text = await (await fetch(`${metricsAddress}/metrics`)).text();
  const value = (name: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) * 1000 : Number.NaN;
  };
  return {
    maxMs: round(value('dirsync_nodejs_eventloop_lag_max_seconds')),
    p99Ms: round(value('dirsync_nodejs_eventloop_lag_p99_seconds')),
  };
}
