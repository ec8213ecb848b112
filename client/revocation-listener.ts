// Following dirsync's session revocations from an application instance: reads the
// Redis Stream `<prefix>:sessions:revoked` from a starting point (a stream id it saved,
// "now", or "now minus N seconds"), then follows it with blocking reads, on a
// connection of its own that reconnects by itself. Each message is handed to the
// application once, in stream order, and the position moves past it only when the
// callback has finished: a callback that throws gets the message again. With the
// relay's own at-least-once delivery, a message may come twice: apply it by session id.
//
// Entries older than the stream's cap are trimmed. When the listener's position was
// trimmed before it read on (an instance away longer than the stream holds), some
// revocations are unknown to it: `onGap` is called, and the application should drop
// every cached session (Postgres still knows which are valid).
import { Redis, type RedisOptions } from 'ioredis';
import {
  parseRevocationMessage,
  type RevocationMessage,
  STREAM_FIELD,
  sessionsRevokedKey,
} from '../common/revocation-message.ts';

export type StartFrom =
  /** Only what is added from now on (the default). */
  | 'now'
  /** What the stream still holds from this many seconds ago. */
  | { secondsAgo: number }
  /** After this stream id (one this instance saved from `lastId`). */
  | { after: string };

export interface RevocationListenerOptions {
  /** Redis URL or ioredis options; the listener opens its own connection. */
  redis: string | RedisOptions;
  /** dirsync's REDIS_PREFIX (default `dirsync`). */
  prefix?: string;
  from?: StartFrom;
  onMessage(message: RevocationMessage, streamId: string): void | Promise<void>;
  /** Revocations were trimmed before this instance read them: drop the whole cache. */
  onGap?(): void | Promise<void>;
  /** Connection and callback errors (the listener retries; default: ignored). */
  onError?(error: Error): void;
  /** Longest blocking read, in ms (default 5000). */
  blockMs?: number;
}

export interface RevocationListener {
  /** The stream id of the last message handled (save it to resume after a restart). */
  readonly lastId: string;
  /** Resolves once the starting point is fixed: anything added after is seen. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** The largest sequence number of a stream id: `${ms}-${MAX_SEQ}` sorts after all of ms. */
const MAX_SEQ = '18446744073709551615';
const BATCH = 100;
const MAX_BACKOFF_MS = 2_000;

/** Compares two complete stream ids (`<ms>-<seq>`). */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map(BigInt);
  const [bm = 0n, bs = 0n] = b.split('-').map(BigInt);
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

export function listenForRevocations(options: RevocationListenerOptions): RevocationListener {
  const key = sessionsRevokedKey(options.prefix ?? 'dirsync');
  const blockMs = options.blockMs ?? 5_000;
  const redisOptions: RedisOptions = {
    // Blocking reads wait through reconnects; ioredis sends them again once connected.
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(times * 100, MAX_BACKOFF_MS),
    connectionName: 'dirsync-revocation-listener',
  };
  const redis =
    typeof options.redis === 'string'
      ? new Redis(options.redis, redisOptions)
      : new Redis({ ...redisOptions, ...options.redis });
  const report = (err: unknown) =>
    options.onError?.(err instanceof Error ? err : new Error(String(err)));
  redis.on('error', report);

  let closed = false;
  let position: string | undefined;
  // A reconnect may have left time for the stream to be trimmed past our position.
  let checkGap = options.from !== undefined && options.from !== 'now';
  let connectedOnce = false;
  redis.on('ready', () => {
    if (connectedOnce) checkGap = true;
    connectedOnce = true;
  });

  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const start = async (): Promise<string> => {
    const from = options.from ?? 'now';
    if (typeof from === 'object' && 'after' in from) return from.after;
    if (from === 'now') {
      // After the newest entry (or from the beginning of a stream not created yet).
      const newest = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
      return newest[0]?.[0] ?? '0-0';
    }
    const [seconds] = await redis.time();
    const ms = Number(seconds) * 1000 - Math.round(from.secondsAgo * 1000);
    return `${Math.max(0, ms - 1)}-${MAX_SEQ}`;
  };

  const gapSince = async (after: string): Promise<boolean> => {
    let info: unknown[];
    try {
      info = (await redis.call('XINFO', 'STREAM', key)) as unknown[];
    } catch (err) {
      if (/no such key/i.test(String(err))) return false;
      throw err;
    }
    const index = info.indexOf('max-deleted-entry-id');
    const deleted = index === -1 ? '0-0' : String(info[index + 1]);
    return compareStreamIds(deleted, after) > 0;
  };

  const handle = async (id: string, fields: string[]) => {
    let message: RevocationMessage;
    try {
      message = parseRevocationMessage(fields[fields.indexOf(STREAM_FIELD) + 1] ?? '');
    } catch (err) {
      // Not a message this client understands (a later version): skipped, reported.
      report(new Error(`skipped stream entry ${id}: ${(err as Error).message}`));
      return;
    }
    await options.onMessage(message, id);
  };

  const loop = async () => {
    let failures = 0;
    while (!closed) {
      try {
        position ??= await start();
        markReady();
        const read = await redis.xread('COUNT', BATCH, 'BLOCK', blockMs, 'STREAMS', key, position);
        if (closed) break;
        if (checkGap) {
          checkGap = false;
          if (await gapSince(position)) await options.onGap?.();
        }
        for (const [, entries] of read ?? []) {
          for (const [id, fields] of entries) {
            await handle(id, fields);
            position = id;
          }
        }
        failures = 0;
      } catch (err) {
        if (closed) break;
        report(err);
        failures += 1;
        await new Promise((r) => setTimeout(r, Math.min(MAX_BACKOFF_MS, 50 * 2 ** failures)));
      }
    }
  };
  const running = loop();

  return {
    get lastId() {
      return position ?? '0-0';
    },
    ready,
    async close() {
      closed = true;
      // Ends a blocking read at once; the loop sees `closed` and returns.
      redis.disconnect();
      await running;
    },
  };
}
