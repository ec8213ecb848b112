// Redis connections. BullMQ workers need `maxRetriesPerRequest: null` (blocking
// commands wait through reconnects); producers on a request path fail fast instead.
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

export type { Redis };

export type RedisRole = 'worker' | 'producer' | 'subscriber';

export function createRedis(
  config: Pick<Config, 'REDIS_URL'>,
  role: RedisRole,
  logger?: Logger,
): Redis {
  const options: RedisOptions = {
    connectionName: `dirsync-${role}`,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    ...(role === 'producer'
      ? { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000 }
      : { maxRetriesPerRequest: null }),
  };
  const redis = new Redis(config.REDIS_URL, options);
  let lastError = '';
  redis.on('error', (err: Error) => {
    // ioredis repeats the same error on every reconnect attempt: log each kind once.
    if (err.message !== lastError) logger?.warn({ err, role }, 'redis connection error');
    lastError = err.message;
  });
  redis.on('ready', () => {
    lastError = '';
  });
  return redis;
}

/** Resolves once the connection is ready, or rejects after `timeoutMs`. */
export async function waitForRedis(redis: Redis, timeoutMs = 5_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`redis not ready after ${timeoutMs} ms (status ${redis.status})`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}
