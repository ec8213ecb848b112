// Starting and stopping a dirsync process: the API, the worker, or both in one
// process. Migrates at start-up unless MIGRATE_ON_START=false. On SIGTERM/SIGINT it
// stops taking work, lets in-flight work finish, closes pools, within a bounded time.
import type { FastifyInstance } from 'fastify';
import { type Config, ConfigError, loadConfig } from './common/config.ts';
import { createLogger, type Logger } from './common/logger.ts';
import { openResources, type Resources } from './common/resources.ts';
import { createDatabase } from './db/database.ts';
import { ensureDatabase, migrateToLatest } from './db/migrate.ts';
import type { MetricsServer } from './worker/metrics-server.ts';
import type { WorkerHandle } from './worker/worker.ts';

export interface ServiceOptions {
  api: boolean;
  worker: boolean;
}

export interface Service {
  resources: Resources;
  server?: FastifyInstance;
  worker?: WorkerHandle;
  /** The address the API listens on, when it runs. */
  address?: string;
  /** The API's internal listener (/metrics, /admin); undefined with ADMIN_PORT=same. */
  adminAddress?: string;
  /** The worker's metrics listener: a worker without the API, WORKER_METRICS_PORT > 0. */
  metricsAddress?: string;
  stop(): Promise<void>;
}

/** A start-up failure that says which service and which variable it was. */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** `host:port` of a URL, without its credentials. */
function where(url: string): string {
  try {
    const { hostname, port } = new URL(url);
    return `${hostname}:${port || '5432'}`;
  } catch {
    return '(unparsable URL)';
  }
}

/** Runs `step`; a failure to reach Postgres becomes one line naming it and `variable`. */
async function reachingPostgres<T>(
  config: Config,
  variable: 'DATABASE_URL' | 'DATABASE_DIRECT_URL',
  step: () => Promise<T>,
): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const e = err as Error & { code?: string };
    // Network errors (ECONNREFUSED, ENOTFOUND, timeouts) and the server refusing the
    // connection (57P03 starting up, 28xxx authentication, 3D000 no such database).
    const connecting =
      /^E[A-Z]+$/.test(e.code ?? '') ||
      /^(57P03|28|3D000|08)/.test(e.code ?? '') ||
      /timeout|terminated|ECONNREFUSED/i.test(e.message);
    if (!connecting) throw err;
    throw new StartupError(
      `cannot reach Postgres at ${where(config[variable])} (${variable}): ${e.message || e.code}`,
      { cause: err },
    );
  }
}

export async function prepareDatabase(resources: Resources): Promise<void> {
  const { config, logger } = resources;
  if (!config.MIGRATE_ON_START) return;
  const direct = config.DATABASE_DIRECT_URL !== config.DATABASE_URL;
  const variable = direct ? 'DATABASE_DIRECT_URL' : 'DATABASE_URL';
  if (await reachingPostgres(config, variable, () => ensureDatabase(config))) {
    logger.info('created database');
  }
  // Migrations hold a session-level lock: on DATABASE_DIRECT_URL, one connection.
  const migrating = createDatabase(config, { direct: true, poolMax: 1 });
  try {
    const result = await reachingPostgres(config, variable, () =>
      migrateToLatest(migrating, config.DATABASE_SCHEMA),
    );
    for (const r of result.results ?? []) logger.info({ migration: r.migrationName }, 'migrated');
  } finally {
    await migrating.destroy();
  }
}

/** A port taken: which variable to change, or how to share one port. */
function listenError(err: unknown, variable: 'PORT' | 'ADMIN_PORT', port: number): unknown {
  if ((err as { code?: string }).code !== 'EADDRINUSE') return err;
  const hint =
    variable === 'ADMIN_PORT'
      ? ' (default PORT + 1): give each API process on a host its own PORT and ADMIN_PORT, or ADMIN_PORT=same'
      : '';
  return new StartupError(`port ${port} (${variable}) is in use${hint}`, { cause: err });
}

interface Api {
  server: FastifyInstance;
  address: string;
  admin?: FastifyInstance;
  adminAddress?: string;
}

/** The public listener, and the internal one on ADMIN_HOST:ADMIN_PORT unless `same`. */
async function startApi(resources: Resources): Promise<Api> {
  const { config } = resources;
  const { buildServer } = await import('./api/server.ts');
  // SCIM writes are applied before they are answered: in the write's own
  // transaction when the organization has nothing pending, else by the drain of the
  // organization, run in this process (the worker's code, passed in).
  const { createApplyNow, createApplyInTransaction } = await import('./worker/apply-now.ts');
  const applyNow = createApplyNow(resources);
  const applyInTransaction = createApplyInTransaction(resources);
  const same = config.ADMIN_PORT === 'same';
  const server = await buildServer(resources, {
    applyNow,
    applyInTransaction,
    surface: same ? 'all' : 'public',
  });
  const admin = same ? undefined : await buildServer(resources, { applyNow, surface: 'internal' });
  try {
    const address = await server
      .listen({ host: config.HOST, port: config.PORT })
      .catch((err: unknown) => Promise.reject(listenError(err, 'PORT', config.PORT)));
    const adminAddress = await admin
      ?.listen({ host: config.ADMIN_HOST, port: config.ADMIN_PORT as number })
      .catch((err: unknown) =>
        Promise.reject(listenError(err, 'ADMIN_PORT', config.ADMIN_PORT as number)),
      );
    return { server, address, admin, adminAddress };
  } catch (err) {
    await server.close();
    await admin?.close();
    throw err;
  }
}

export async function startService(
  config: Config,
  logger: Logger,
  options: ServiceOptions,
): Promise<Service> {
  const resources = openResources(config, logger);
  let worker: WorkerHandle | undefined;
  try {
    await prepareDatabase(resources);
    // Each side is loaded only when it runs: a worker process does not carry the
    // HTTP stack (Fastify, the dashboard), nor an API process the appliers.
    if (options.worker) {
      const { startWorker } = await import('./worker/worker.ts');
      worker = await startWorker(resources);
    }
    const api = options.api ? await startApi(resources) : undefined;
    const server = api?.server;
    // With the API in the process its /metrics has the worker's counters too.
    let metricsServer: MetricsServer | undefined;
    if (worker && !options.api && config.WORKER_METRICS_PORT > 0) {
      const { startMetricsServer } = await import('./worker/metrics-server.ts');
      metricsServer = await startMetricsServer(resources.metrics.registry, logger, {
        host: config.HOST,
        port: config.WORKER_METRICS_PORT,
      });
    }
    let stopping: Promise<void> | undefined;
    return {
      resources,
      server,
      worker,
      address: api?.address,
      adminAddress: api?.adminAddress,
      metricsAddress: metricsServer?.address,
      stop() {
        stopping ??= (async () => {
          await server?.close();
          await api?.admin?.close();
          await metricsServer?.close();
          await worker?.stop();
          await resources.close();
        })();
        return stopping;
      },
    };
  } catch (err) {
    // A listener that could not start (a port in use) stops the worker started before it.
    await worker?.stop();
    await resources.close();
    throw err;
  }
}

/** The entry points' shared main: config, start, signals, bounded shutdown. */
export async function runMain(options: ServiceOptions): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createLogger(config);
  let service: Service;
  try {
    service = await startService(config, logger, options);
  } catch (err) {
    // One line that names the service and the variable (the error's cause is kept).
    if (err instanceof StartupError) logger.fatal({ err: { message: err.message } }, err.message);
    else logger.fatal({ err }, 'start-up failed');
    process.exit(1);
  }
  logger.info(
    {
      address: service.address,
      adminAddress: service.adminAddress,
      metricsAddress: service.metricsAddress,
      api: options.api,
      worker: options.worker,
    },
    'dirsync started',
  );
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    service.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
