// A Postgres LISTEN on a session of its own, kept up by itself: it connects, runs
// LISTEN, and reports each notification; when the connection fails or ends (Postgres
// restarting, the backend terminated, the network gone) it connects again with a
// doubling backoff. Notifications sent while it was away are lost (Postgres queues
// them only for sessions listening at commit), so onListening() runs after every
// successful LISTEN: the caller looks for what it missed.
//
// On DATABASE_DIRECT_URL: a transaction pooler (PgBouncer `pool_mode = transaction`)
// hands each transaction to any server connection, and a LISTEN would stay behind
// on one of them. TCP keepalive notices a peer that vanished without closing; the
// callers keep a slow poll besides, as a net for what a dead socket hides.
import pg from 'pg';
import type { Config } from '../common/config.ts';
import type { Logger } from '../common/logger.ts';

/** Backoff between connection attempts: doubling from the first up to the last. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5_000;
const CONNECT_TIMEOUT_MS = 5_000;
const KEEPALIVE_DELAY_MS = 10_000;

export interface NotificationListenerOptions {
  config: Pick<Config, 'DATABASE_DIRECT_URL'>;
  /** Any text: quoted as an identifier, so it is used exactly (at most 63 bytes). */
  channel: string;
  /** pg_stat_activity's application_name of the session (at most 63 bytes). */
  applicationName: string;
  logger: Logger;
  onNotification(payload: string | undefined): void;
  /** After each successful LISTEN, the first included: catch up on what was missed. */
  onListening?(): void;
}

export interface NotificationListener {
  /** Whether the LISTEN is in place now. */
  readonly listening: boolean;
  close(): Promise<void>;
}

export function listenForNotifications(options: NotificationListenerOptions): NotificationListener {
  const { logger } = options;
  let client: pg.Client | undefined;
  let listening = false;
  let closed = false;
  let failures = 0;
  let retryTimer: NodeJS.Timeout | undefined;

  const retry = () => {
    listening = false;
    if (closed || retryTimer) return;
    const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.min(failures, 10));
    failures += 1;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, delay);
  };

  const connect = async () => {
    const c = new pg.Client({
      connectionString: options.config.DATABASE_DIRECT_URL,
      application_name: options.applicationName.slice(0, 63),
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
    });
    client = c;
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (client === c) client = undefined;
      c.end().catch(() => {});
      if (closed) return;
      // Once per outage, then every 20th attempt: a Postgres down for an hour is not a flood.
      if (failures === 0 || failures % 20 === 0)
        logger.warn(
          { err, channel: options.channel },
          'postgres LISTEN connection lost; reconnecting',
        );
      retry();
    };
    c.on('error', onLost);
    c.on('end', () => onLost());
    c.on('notification', (n) => {
      if (n.channel === options.channel) options.onNotification(n.payload);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${c.escapeIdentifier(options.channel)}`);
    } catch (err) {
      onLost(err as Error);
      return;
    }
    if (closed || lost) return;
    if (failures > 0) logger.info({ channel: options.channel, failures }, 'postgres LISTEN again');
    failures = 0;
    listening = true;
    options.onListening?.();
  };

  void connect();
  return {
    get listening() {
      return listening;
    },
    async close() {
      closed = true;
      listening = false;
      clearTimeout(retryTimer);
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}
