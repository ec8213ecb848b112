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
