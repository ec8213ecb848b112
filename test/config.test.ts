import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../common/config.ts';

describe('config', () => {
  it('works with no configuration at all, against local Postgres and Redis', () => {
    const config = loadConfig({});
    expect(config.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/dirsync');
    expect(config.DATABASE_SCHEMA).toBe('dirsync');
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.PORT).toBe(8080);
    expect(config.WORKOS_WEBHOOK_TOLERANCE_MS).toBe(180_000);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('splits rotated webhook secrets', () => {
    const config = loadConfig({ WORKOS_WEBHOOK_SECRET: 'old_secret, new_secret' });
    expect(config.WORKOS_WEBHOOK_SECRET).toEqual(['old_secret', 'new_secret']);
  });

  it.each([
    ['PORT', 'eighty', /PORT: expected a whole number/],
    ['PORT', '70000', /PORT: expected a whole number <= 65535/],
    [
      'DATABASE_URL',
      'mysql://localhost/x',
      /DATABASE_URL: expected a URL starting with postgres:\/\//,
    ],
    ['REDIS_URL', 'not a url', /REDIS_URL: expected a URL/],
    [
      'DATABASE_SCHEMA',
      'Robert"); drop table',
      /DATABASE_SCHEMA: expected a lower-case SQL identifier/,
    ],
    ['MIGRATE_ON_START', 'maybe', /MIGRATE_ON_START: expected true or false/],
    ['ADMIN_TOKEN', 'short', /ADMIN_TOKEN: expected at least 16 characters/],
    ['WORKOS_WEBHOOK_SECRET', 'a,,b', /WORKOS_WEBHOOK_SECRET: empty entry/],
  ])('names a malformed %s in one clear line', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it.each([
    ['PORT', ' '],
    ['PORT', '0x50'],
    ['PORT', '1e3'],
    ['PORT', '80.0'],
    ['PORT', '-1'],
    ['PORT', '+80'],
    ['WORKOS_POLL_INTERVAL_MS', ' '],
    ['DATABASE_POOL_MAX', '1_0'],
  ])('refuses %s=%j instead of reading it as a number', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(
      new RegExp(`^invalid configuration: ${name}: expected a whole number \\(decimal digits\\)$`),
    );
  });

  it('reads whole numbers in decimal digits, around blanks', () => {
    const config = loadConfig({ PORT: ' 8081 ', WORKOS_POLL_INTERVAL_MS: '0' });
    expect(config.PORT).toBe(8081);
    expect(config.WORKOS_POLL_INTERVAL_MS).toBe(0);
  });

  it.each([
    'HOST',
    'DATABASE_SCHEMA',
    'REDIS_PREFIX',
    'WORKOS_WEBHOOK_SECRET',
    'WORKOS_API_KEY',
    'WORKOS_API_HOSTNAME',
    'ADMIN_TOKEN',
  ])('refuses a blank %s in one line naming it', (name) => {
    expect(() => loadConfig({ [name]: '   ' })).toThrow(
      new RegExp(`^invalid configuration: ${name}: expected a value, not blanks$`),
    );
  });

  it('takes an empty variable as not set', () => {
    const config = loadConfig({ HOST: '', PORT: '', WORKOS_API_KEY: '', ADMIN_TOKEN: '' });
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.PORT).toBe(8080);
    expect(config.WORKOS_API_KEY).toBeUndefined();
    expect(config.ADMIN_TOKEN).toBeUndefined();
  });

  it('reports every bad variable, one per line', () => {
    try {
      loadConfig({ PORT: 'x', LOG_LEVEL: 'loud' });
      expect.unreachable();
    } catch (err) {
      const lines = (err as Error).message.split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^invalid configuration: LOG_LEVEL: /);
      expect(lines[1]).toMatch(/^invalid configuration: PORT: /);
    }
  });
});

describe('config: connections', () => {
  it('DATABASE_DIRECT_URL defaults to DATABASE_URL', () => {
    const url = 'postgres://app@pooler:6432/dirsync';
    expect(loadConfig({ DATABASE_URL: url }).DATABASE_DIRECT_URL).toBe(url);
    const direct = 'postgres://app@db:5432/dirsync';
    expect(loadConfig({ DATABASE_URL: url, DATABASE_DIRECT_URL: direct }).DATABASE_DIRECT_URL).toBe(
      direct,
    );
  });

  it('reaches Redis by URL by default, with the prefix dirsync', () => {
    const config = loadConfig({});
    expect(config.redis).toEqual({ mode: 'standalone', url: 'redis://127.0.0.1:6379' });
    expect(config.REDIS_PREFIX).toBe('dirsync');
  });

  it('reads a Sentinel set-up', () => {
    const config = loadConfig({
      REDIS_SENTINELS: 'sentinel-a:26379, [::1]:26380',
      REDIS_SENTINEL_NAME: 'mymaster',
      REDIS_SENTINEL_PASSWORD: 's3cret',
      REDIS_PASSWORD: 'r3dis',
    });
    expect(config.redis).toEqual({
      mode: 'sentinel',
      sentinels: [
        { host: 'sentinel-a', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      name: 'mymaster',
      sentinelPassword: 's3cret',
      password: 'r3dis',
    });
    expect(config.REDIS_URL).toBeUndefined();
  });

  it('reads a Cluster, whose default prefix is the hash tag {dirsync}', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7000' });
    expect(config.redis).toEqual({
      mode: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7000 },
      ],
    });
    expect(config.REDIS_PREFIX).toBe('{dirsync}');
    expect(
      loadConfig({ REDIS_CLUSTER_NODES: 'a:1', REDIS_PREFIX: 'app:{dirsync}' }).REDIS_PREFIX,
    ).toBe('app:{dirsync}');
  });

  it('accepts a hash tag in REDIS_PREFIX without a Cluster too', () => {
    expect(loadConfig({ REDIS_PREFIX: '{dirsync}' }).REDIS_PREFIX).toBe('{dirsync}');
  });

  it.each([
    [
      { REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'b:7000' },
      /^invalid configuration: REDIS_URL: set only one of REDIS_URL, REDIS_CLUSTER_NODES/,
    ],
    [
      { REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER_NODES: 'b:7000' },
      /^invalid configuration: REDIS_SENTINELS: set only one of REDIS_SENTINELS, REDIS_CLUSTER_NODES/,
    ],
    [
      { REDIS_SENTINELS: 'a:26379' },
      /^invalid configuration: REDIS_SENTINEL_NAME: expected the monitored master name/,
    ],
    [
      { REDIS_SENTINEL_NAME: 'm' },
      /^invalid configuration: REDIS_SENTINEL_NAME: only with REDIS_SENTINELS$/,
    ],
    [
      { REDIS_CLUSTER_NODES: 'a:7000', REDIS_PREFIX: 'dirsync' },
      /^invalid configuration: REDIS_PREFIX: expected a hash tag/,
    ],
    [
      { REDIS_CLUSTER_NODES: 'a:7000', REDIS_PREFIX: 'dirsync{}' },
      /^invalid configuration: REDIS_PREFIX: expected a hash tag/,
    ],
    [
      { REDIS_CLUSTER_NODES: 'a' },
      /^invalid configuration: REDIS_CLUSTER_NODES: expected host:port/,
    ],
    [
      { REDIS_SENTINELS: 'a:99999', REDIS_SENTINEL_NAME: 'm' },
      /^invalid configuration: REDIS_SENTINELS: expected a port/,
    ],
    [
      { DATABASE_DIRECT_URL: 'mysql://x/y' },
      /^invalid configuration: DATABASE_DIRECT_URL: expected a URL/,
    ],
  ])('refuses %j in one line', (env, message) => {
    try {
      loadConfig(env);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message.split('\n')).toHaveLength(1);
      expect((err as Error).message).toMatch(message);
    }
  });

  it('leaves the worker metrics port off by default, so workers on one host do not collide', () => {
    expect(loadConfig({}).WORKER_METRICS_PORT).toBe(0);
  });
});
