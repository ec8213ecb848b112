// Once per test run: find Postgres and Redis. DATABASE_URL / REDIS_URL when given,
// else the local defaults; when neither answers and a Docker engine exists, start
// them with testcontainers. The URLs reach every test file through `inject`.
import net from 'node:net';
import type { TestProject } from 'vitest/node';
import { ensureDatabase } from '../../db/migrate.ts';
import type { TestServices } from './services.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
    /** PgBouncer, Redis Cluster, Sentinel (vitest.config.ts starts them). */
    services: TestServices;
  }
}

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/dirsync_test';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

function answers(url: string, fallbackPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || fallbackPort) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function dockerAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let databaseUrl =
    process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  let redisUrl = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const stops: Array<() => Promise<unknown>> = [];

  const [pgUp, redisUp] = await Promise.all([answers(databaseUrl, 5432), answers(redisUrl, 6379)]);
  if ((!pgUp || !redisUp) && (await dockerAvailable())) {
    if (!pgUp) {
      const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
      const container = await new PostgreSqlContainer('postgres:17-alpine').start();
      databaseUrl = container.getConnectionUri();
      stops.push(() => container.stop());
    }
    if (!redisUp) {
      const { RedisContainer } = await import('@testcontainers/redis');
      const container = await new RedisContainer('redis:7-alpine').start();
      redisUrl = container.getConnectionUrl();
      stops.push(() => container.stop());
    }
  } else if (!pgUp || !redisUp) {
    const missing = [
      !pgUp && `Postgres at ${new URL(databaseUrl).host}`,
      !redisUp && `Redis at ${new URL(redisUrl).host}`,
    ]
      .filter(Boolean)
      .join(' and ');
    throw new Error(
      `tests need ${missing}: start them, set DATABASE_URL / REDIS_URL, or run a Docker engine for testcontainers`,
    );
  }

  await ensureDatabase({ DATABASE_DIRECT_URL: databaseUrl });
  project.provide('databaseUrl', databaseUrl);
  project.provide('redisUrl', redisUrl);
  return async () => {
    for (const stop of stops) await stop();
  };
}
