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
