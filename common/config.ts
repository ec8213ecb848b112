// Every setting of dirsync, read from environment variables once at start-up.
// Defaults run against a local Postgres (127.0.0.1:5432) and Redis (127.0.0.1:6379)
// with no configuration at all. The variable names are public and stable.
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

// Whole numbers in decimal digits only: `Number()` would read " " as 0, "0x50" as 80
// and "1e3" as 1000, so a typo would silently become a setting.
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { error: 'expected a whole number (decimal digits)' })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { error: `expected a whole number >= ${min}` })
        .max(max, { error: `expected a whole number <= ${max}` }),
    );

/** A string that is not only whitespace (an empty variable already means "not set"). */
const text = z.string().refine((v) => v.trim() !== '', { error: 'expected a value, not blanks' });

const url = (protocols: readonly string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { error: `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

const identifier = text.regex(/^[a-z_][a-z0-9_]{0,62}$/, {
  error: 'expected a lower-case SQL identifier',
});

const csv = text
  .transform((v) => v.split(',').map((s) => s.trim()))
  .pipe(z.array(z.string().min(1, { error: 'empty entry in comma-separated list' })));

const optionalString = text.optional();

/** An operator's name in the audit log: letters, digits and `. _ @ -`. */
const OPERATOR_NAME = /^[A-Za-z0-9._@-]{1,64}$/;

/**
 * `name:token,name:token`: named operator credentials. Each name goes into the audit
 * log for what its holder did; names and tokens must be unique.
 */
const namedTokens = csv.pipe(
  z
    .array(
      z.string().transform((entry, ctx) => {
        const colon = entry.indexOf(':');
        const name = entry.slice(0, colon).trim();
        const token = entry.slice(colon + 1).trim();
        if (colon < 1 || !OPERATOR_NAME.test(name)) {
          ctx.addIssue({
            code: 'custom',
            message: 'expected name:token entries (name: letters, digits, . _ @ -)',
          });
          return z.NEVER;
        }
        if (token.length < 16) {
          ctx.addIssue({
            code: 'custom',
            message: `the token of ${name}: expected at least 16 characters`,
          });
          return z.NEVER;
        }
        return { name, token };
      }),
    )
    .refine((entries) => new Set(entries.map((e) => e.name)).size === entries.length, {
      error: 'a name appears twice',
    })
    .refine((entries) => new Set(entries.map((e) => e.token)).size === entries.length, {
      error: 'a token appears twice',
    }),
);

/** `host:port,host:port` (IPv6 hosts in brackets: `[::1]:26379`). */
const hostPorts = csv.pipe(
  z.array(
    z
      .string()
      .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}$/, {
        error: 'expected host:port entries, comma-separated',
      })
      .transform((entry) => {
        const at = entry.lastIndexOf(':');
        return {
          host: entry.slice(0, at).replace(/^\[|\]$/g, ''),
          port: Number(entry.slice(at + 1)),
        };
      })
      .refine((node) => node.port >= 1 && node.port <= 65535, { error: 'expected a port 1-65535' }),
  ),
);

/**
 * Whether a Redis key starting with `prefix` has a hash tag: Redis Cluster hashes
 * only what is between the first `{` and the next `}`, when that is not empty.
 */
export function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf('{');
  if (open < 0) return false;
  const close = prefix.indexOf('}', open + 1);
  return close > open + 1;
}

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  DATABASE_URL: url(['postgres:', 'postgresql:']).default(
    'postgres://postgres@127.0.0.1:5432/dirsync',
  ),
  // Where a session is unavoidable (migrations, creating the database): a direct
  // connection when DATABASE_URL is a transaction pooler. Default: DATABASE_URL.
  DATABASE_DIRECT_URL: url(['postgres:', 'postgresql:']).optional(),
  DATABASE_SCHEMA: identifier.default('dirsync'),
  DATABASE_POOL_MAX: int(1, 200).default(10),
  MIGRATE_ON_START: bool.default(true),

  // Redis: one of REDIS_URL, REDIS_SENTINELS (+ REDIS_SENTINEL_NAME) or
  // REDIS_CLUSTER_NODES; none set means REDIS_URL's default.
  REDIS_URL: url(['redis:', 'rediss:']).optional(),
  REDIS_SENTINELS: hostPorts.optional(),
  REDIS_SENTINEL_NAME: text.optional(),
  REDIS_SENTINEL_PASSWORD: text.optional(),
  REDIS_PASSWORD: text.optional(),
  REDIS_CLUSTER_NODES: hostPorts.optional(),
  // Default `dirsync`, or `{dirsync}` on a Cluster (BullMQ's keys of one queue must
  // share a hash slot).
  REDIS_PREFIX: text
    .regex(/^[A-Za-z0-9_:.{}-]+$/, { error: 'expected letters, digits, _ : . - { or }' })
    .optional(),

  HOST: text.default('127.0.0.1'),
  PORT: int(0, 65535).default(8080),
  // The internal listener of an API process: /metrics, /admin and the queue dashboard,
  // kept off the public listener WorkOS and identity providers reach. Default: PORT + 1
  // (0 with PORT=0: any free port) on ADMIN_HOST; `same`: all of it on PORT.
  ADMIN_PORT: text
    .transform((v) => v.trim())
    .refine((v) => v === 'same' || (/^\d+$/.test(v) && Number(v) <= 65535), {
      error: 'expected a port (a whole number 0-65535) or `same`',
    })
    .transform((v) => (v === 'same' ? ('same' as const) : Number(v)))
    .optional(),
  ADMIN_HOST: text.default('127.0.0.1'),
  // A worker without the API in its process serves /metrics and /healthz here. Off
  // (0) by default, so that several workers on one host do not collide.
  WORKER_METRICS_PORT: int(0, 65535).default(0),
  WEBHOOK_BODY_LIMIT_BYTES: int(1024).default(1024 * 1024),
  // The base of SCIM URLs given to identity providers (default http://<HOST>:<PORT>).
  PUBLIC_URL: url(['http:', 'https:']).optional(),
  // How long a SCIM directory's old bearer token keeps working after a rotation.
  SCIM_TOKEN_GRACE_MS: int(0).default(0),
  // Longest time a client may take to send a whole request (headers and body): a
  // client that stops mid-body (slow POST) is answered 408 and disconnected.
  HTTP_REQUEST_TIMEOUT_MS: int(500, 3_600_000).default(30_000),

  WORKOS_WEBHOOK_SECRET: optionalString.pipe(csv.optional()),
  WORKOS_WEBHOOK_TOLERANCE_MS: int(1000).default(180_000),
  WORKOS_API_KEY: optionalString,
  WORKOS_API_HOSTNAME: optionalString,
  WORKOS_API_PORT: int(1, 65535).optional(),
  WORKOS_API_HTTPS: bool.default(true),
  WORKOS_POLL_INTERVAL_MS: int(0).default(30_000),
  WORKOS_POLL_LOOKBACK_DAYS: int(1, 30).default(30),
  WORKOS_RECONCILE_INTERVAL_MS: int(0).default(0),
  // How far this host's clock may be ahead of WorkOS's: a resync defers (does not
  // delete) what was written this long before its read of the directory began.
  WORKOS_CLOCK_SKEW_MS: int(0, 3_600_000).default(10_000),

  // The unnamed operator credential (audited as "admin"), and named ones.
  ADMIN_TOKEN: text.min(16, { error: 'expected at least 16 characters' }).optional(),
  ADMIN_TOKENS: optionalString.pipe(namedTokens.optional()),
  ADMIN_READ_ONLY: bool.default(false),

  DRAIN_CONCURRENCY: int(1, 256).default(8),
  DRAIN_BATCH_SIZE: int(1, 5000).default(1000),
  EVENT_MAX_ATTEMPTS: int(1, 100).default(5),
  DRAIN_JOB_LOCK_MS: int(1000).default(30_000),
  SWEEP_INTERVAL_MS: int(1000).default(30_000),
  // Applied and ignored inbox rows (whole payloads, personal data included) are
  // deleted this many days after they were received; 0 keeps them forever. At least
  // the Events API's retention (30 days), so a poll from range_start meets its dedup.
  INBOX_RETENTION_DAYS: int(0, 36_500)
    .refine((days) => days === 0 || days >= 30, { error: 'expected 0 or at least 30' })
    .default(90),
  SHUTDOWN_TIMEOUT_MS: int(100).default(10_000),
  // Entries kept in the revocation stream (XADD MAXLEN ~): at least a day of
  // revocations at the benchmark's rate (one deprovisioning every 50 ms, 20/s:
  // 1,728,000 a day), so an application instance away for a day catches up.
  REVOCATION_STREAM_MAXLEN: int(1).default(2_000_000),
  // Sent outbox rows are deleted this many hours after they were sent.
  REVOCATION_OUTBOX_RETENTION_HOURS: int(1, 87_600).default(24),
  // The relay is woken at once by the outbox's Postgres NOTIFY (and in its own
  // process by the drain); this slow poll is the net for what a LISTEN missed. While
  // its LISTEN connection is down the relay polls every second at least.
  REVOCATION_RELAY_POLL_MS: int(10, 60_000).default(10_000),
});

type RedisNode = { host: string; port: number };

/** How to reach Redis, derived from the REDIS_* variables. */
export type RedisTarget =
  | { mode: 'standalone'; url: string; password?: string }
  | {
      mode: 'sentinel';
      sentinels: RedisNode[];
      name: string;
      sentinelPassword?: string;
      password?: string;
    }
  | { mode: 'cluster'; nodes: RedisNode[]; password?: string };

type Parsed = z.infer<typeof schema>;

export type Config = Readonly<
  Omit<Parsed, 'DATABASE_DIRECT_URL' | 'REDIS_PREFIX' | 'ADMIN_PORT'> & {
    DATABASE_DIRECT_URL: string;
    REDIS_PREFIX: string;
    /** A port (0: any free one), or `same`: the internal routes on PORT's listener. */
    ADMIN_PORT: number | 'same';
    /** Derived from the REDIS_* variables (not a variable itself). */
    redis: RedisTarget;
  }
>;

/** Checks across variables; each problem is reported on the line of one variable. */
function refineRedis(v: Parsed, ctx: z.RefinementCtx): void {
  const modes = (['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const).filter(
    (name) => v[name] !== undefined,
  );
  const issue = (path: string, message: string) =>
    ctx.addIssue({ code: 'custom', path: [path], message });
  if (modes.length > 1) {
    issue(modes[0] as string, `set only one of ${modes.join(', ')} (one way to reach Redis)`);
  }
  if (v.REDIS_SENTINELS && !v.REDIS_SENTINEL_NAME) {
    issue('REDIS_SENTINEL_NAME', 'expected the monitored master name with REDIS_SENTINELS');
  }
  if (!v.REDIS_SENTINELS && (v.REDIS_SENTINEL_NAME || v.REDIS_SENTINEL_PASSWORD)) {
    issue(
      v.REDIS_SENTINEL_NAME ? 'REDIS_SENTINEL_NAME' : 'REDIS_SENTINEL_PASSWORD',
      'only with REDIS_SENTINELS',
    );
  }
  if (v.ADMIN_PORT === undefined && v.PORT === 65535) {
    issue('ADMIN_PORT', 'expected a port or `same`: its default, PORT + 1, is past 65535');
  }
  if (typeof v.ADMIN_PORT === 'number' && v.ADMIN_PORT > 0 && v.ADMIN_PORT === v.PORT) {
    issue('ADMIN_PORT', 'expected another port than PORT, or `same` to serve both on PORT');
  }
  if (v.REDIS_CLUSTER_NODES && v.REDIS_PREFIX !== undefined && !hasHashTag(v.REDIS_PREFIX)) {
    issue(
      'REDIS_PREFIX',
      'expected a hash tag with REDIS_CLUSTER_NODES, such as {dirsync} (BullMQ needs all keys of a queue in one slot)',
    );
  }
}

function redisTarget(v: Parsed): RedisTarget {
  const password = v.REDIS_PASSWORD;
  if (v.REDIS_CLUSTER_NODES) return { mode: 'cluster', nodes: v.REDIS_CLUSTER_NODES, password };
  if (v.REDIS_SENTINELS) {
    return {
      mode: 'sentinel',
      sentinels: v.REDIS_SENTINELS,
      name: v.REDIS_SENTINEL_NAME as string,
      sentinelPassword: v.REDIS_SENTINEL_PASSWORD,
      password,
    };
  }
  return { mode: 'standalone', url: v.REDIS_URL ?? DEFAULT_REDIS_URL, password };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; throws a ConfigError naming every bad variable, one per line. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    // An empty variable means "not set", as in most twelve-factor tools.
    input[key] = value === '' ? undefined : value;
  }
  const parsed = schema.superRefine(refineRedis).safeParse(input);
  if (!parsed.success) {
    // One line per variable: its first problem (a blank value also fails the checks
    // after the first, which would only repeat it).
    const lines = new Map<string, string>();
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? 'environment');
      if (!lines.has(name)) lines.set(name, `invalid configuration: ${name}: ${issue.message}`);
    }
    throw new ConfigError([...lines.values()].join('\n'));
  }
  const v = parsed.data;
  const redis = redisTarget(v);
  return Object.freeze({
    ...v,
    DATABASE_DIRECT_URL: v.DATABASE_DIRECT_URL ?? v.DATABASE_URL,
    ADMIN_PORT: v.ADMIN_PORT ?? (v.PORT === 0 ? 0 : v.PORT + 1),
    REDIS_URL: redis.mode === 'standalone' ? redis.url : undefined,
    REDIS_PREFIX: v.REDIS_PREFIX ?? (redis.mode === 'cluster' ? '{dirsync}' : 'dirsync'),
    redis: Object.freeze(redis),
  });
}

export interface OperatorCredential {
  name: string;
  token: string;
}

/** Every operator credential: ADMIN_TOKENS, and ADMIN_TOKEN under the name `admin`. */
export function operatorCredentials(
  config: Pick<Config, 'ADMIN_TOKEN' | 'ADMIN_TOKENS'>,
): OperatorCredential[] {
  const named = config.ADMIN_TOKENS ?? [];
  return config.ADMIN_TOKEN ? [...named, { name: 'admin', token: config.ADMIN_TOKEN }] : named;
}

/** The same configuration with some settings replaced (tests, CLI). */
export function withOverrides(config: Config, overrides: Partial<Config>): Config {
  const next = { ...config, ...overrides };
  // What is derived follows what it is derived from, unless given too.
  if (overrides.REDIS_URL !== undefined && overrides.redis === undefined) {
    next.redis = Object.freeze({ mode: 'standalone', url: overrides.REDIS_URL });
  }
  if (
    overrides.DATABASE_URL !== undefined &&
    overrides.DATABASE_DIRECT_URL === undefined &&
    config.DATABASE_DIRECT_URL === config.DATABASE_URL
  ) {
    next.DATABASE_DIRECT_URL = overrides.DATABASE_URL;
  }
  return Object.freeze(next);
}
