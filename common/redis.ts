// Redis connections, to a single Redis (REDIS_URL), a Sentinel-monitored master
// (REDIS_SENTINELS) or a Cluster (REDIS_CLUSTER_NODES). BullMQ workers need
// `maxRetriesPerRequest: null` (blocking commands wait through reconnects);
// producers on a request path fail fast instead.
import { Cluster, type ClusterOptions, Redis as IORedis, type RedisOptions } from 'ioredis';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

/** A connection in any of the three modes (BullMQ takes either class). */
export type Redis = IORedis | Cluster;

export type RedisRole = 'worker' | 'producer' | 'subscriber';

const retryStrategy = (times: number) => Math.min(times * 200, 2_000);

// After a Sentinel failover the old master turns replica: a connection still on it
// gets READONLY for writes. Reconnecting asks the Sentinels for the new master (2:
// and resend the command).
const reconnectOnError = (err: Error) => (err.message.startsWith('READONLY') ? 2 : false);

function roleOptions(role: RedisRole): RedisOptions {
  return role === 'producer'
    ? { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000 }
    : { maxRetriesPerRequest: null };
}

function connect(target: Config['redis'], role: RedisRole): Redis {
  const common: RedisOptions = {
    connectionName: `dirsync-${role}`,
    lazyConnect: false,
    retryStrategy,
    reconnectOnError,
    ...roleOptions(role),
  };
  if (target.mode === 'cluster') {
    const { enableOfflineQueue, retryStrategy: _, ...redisOptions } = common;
    const options: ClusterOptions = {
      clusterRetryStrategy: retryStrategy,
      enableOfflineQueue: enableOfflineQueue ?? true,
      redisOptions: { ...redisOptions, password: target.password },
      // A slot's owner may move (failover, resharding): follow MOVED/ASK.
      slotsRefreshTimeout: 2_000,
    };
    return new Cluster(target.nodes, options);
  }
  if (target.mode === 'sentinel') {
    return new IORedis({
      ...common,
      sentinels: target.sentinels,
      name: target.name,
      sentinelPassword: target.sentinelPassword,
      password: target.password,
      sentinelRetryStrategy: retryStrategy,
      // Subscribes to the Sentinels' +switch-master: a failover is followed at once.
      failoverDetector: true,
    });
  }
  const options = target.password ? { ...common, password: target.password } : common;
  return new IORedis(target.url, options);
}

export function createRedis(
  config: Pick<Config, 'redis'>,
  role: RedisRole,
  logger?: Logger,
): Redis {
  const redis = connect(config.redis, role);
  const report = errorsOnce(redis, logger);
  redis.on('error', (err: Error) => report('redis connection error', err, { role }));
  return redis;
}

/** What kind of error this is, for logging each kind once. */
function errorKind(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : err.message.slice(0, 200);
}

export type ErrorReporter = (message: string, err: Error, fields?: Record<string, unknown>) => void;

// Shared by every connection of the process: the producer, the worker's and BullMQ's
// own all fail the same way when Redis goes.
const seen = new Set<string>();

/**
 * Logs each kind of error (message and error code) once in this process until a
 * Redis connection is ready again: ioredis and BullMQ repeat the same error on
 * every reconnect attempt and every blocked command, which would flood the log.
 */
export function errorsOnce(redis: Redis, logger?: Logger): ErrorReporter {
  redis.on('ready', () => {
    if (seen.size > 0) logger?.info('redis connection ready again');
    seen.clear();
  });
  return (message, err, fields = {}) => {
    const kind = errorKind(err);
    const key = `${message}\u0000${kind}`;
    if (seen.has(key)) return;
    seen.add(key);
    logger?.warn({ ...fields, err: { name: err.name, message: err.message, code: kind } }, message);
  };
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

/**
 * Every key of this prefix on every node (a Cluster's nodes each hold their own
 * slots): for tests and benchmarks that clean up after themselves.
 */
export async function keysWithPrefix(redis: Redis, prefix: string): Promise<string[]> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const keys: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(
        cursor,
        'MATCH',
        `${escapeGlob(prefix)}:*`,
        'COUNT',
        1000,
      );
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
  }
  return keys;
}

/** Deletes every key of this prefix (one key per command: a Cluster refuses cross-slot DEL). */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  const keys = await keysWithPrefix(redis, prefix);
  for (let i = 0; i < keys.length; i += 500) {
    const pipeline = redis.pipeline();
    for (const key of keys.slice(i, i + 500)) pipeline.del(key);
    await pipeline.exec();
  }
  return keys.length;
}

// `{` `}` are not glob characters, but `[`, `]`, `*`, `?` and `\` are.
function escapeGlob(text: string): string {
  return text.replace(/[[\]*?\\]/g, '\\$&');
}
