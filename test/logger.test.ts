// The shared logger keeps secrets, signatures and personal data out of every line,
// at any depth, in child bindings and in errors, and keeps what operators need.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../common/logger.ts';

/** A logger from createLogger writing into an array; `last()` is the latest line. */
function capture(name?: string) {
  const lines: string[] = [];
  const logger = createLogger({ LOG_LEVEL: 'info' }, name, {
    write: (line: string) => {
      lines.push(line);
    },
  });
  const last = () => JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>;
  return { logger, lines, last };
}

const PERSON = {
  id: 'directory_user_01',
  email: 'marcelina.davis@acme-corp.com',
  first_name: 'Marcelina',
  last_name: 'Davis',
  emails: [{ primary: true, value: 'marcelina.davis@acme-corp.com' }],
  raw_attributes: { displayName: 'Marcelina Davis', title: 'Engineer' },
  custom_attributes: { department: 'Engineering' },
  state: 'active',
};

describe('logger', () => {
  it("keeps pino's name field and the ordinary fields", () => {
    const { logger, last } = capture('dirsync-test');
    logger.info({ orgId: 'org_1', eventId: 'event_1', status: 200 }, 'webhook');
    expect(last()).toMatchObject({
      name: 'dirsync-test',
      orgId: 'org_1',
      eventId: 'event_1',
      status: 200,
      msg: 'webhook',
    });
  });

  it('redacts personal data however deep it is nested, and leaves the ids', () => {
    const { logger, lines, last } = capture();
    const event = { id: 'event_1', data: { user: PERSON, group: { id: 'g1', name: 'Ops' } } };
    logger.info({ event: { wrapped: event }, list: [PERSON] }, 'nested');
    const line = lines.join('');
    for (const personal of ['marcelina', 'Marcelina', 'Davis', 'Engineer', 'Engineering']) {
      expect(line).not.toContain(personal);
    }
    const user = (last().event as { wrapped: { data: { user: Record<string, unknown> } } }).wrapped
      .data.user;
    expect(user).toMatchObject({
      id: 'directory_user_01',
      state: 'active',
      email: '[redacted]',
      first_name: '[redacted]',
      last_name: '[redacted]',
      raw_attributes: '[redacted]',
      custom_attributes: '[redacted]',
    });
    // The object logged is the caller's, untouched.
    expect(PERSON.email).toBe('marcelina.davis@acme-corp.com');
  });

  it('redacts personal data in child bindings and top-level fields', () => {
    const { logger, lines } = capture();
    logger.child({ email: PERSON.email }).info({ first_name: 'Marcelina' }, 'child');
    expect(lines.join('')).not.toMatch(/marcelina/i);
  });

  it('logs Postgres errors without the detail and context that quote the row', () => {
    const { logger, lines, last } = capture();
    const pgError = Object.assign(new Error('null value in column "x" violates not-null'), {
      code: '23502',
      detail: 'Failing row contains (marcelina.davis@acme-corp.com, Marcelina).',
      where: 'JSON data, line 1: {"email":"marcelina.davis@acme-corp.com"',
      table: 'users',
      email: PERSON.email,
    });
    logger.error({ err: pgError }, 'insert failed');
    const wrapped = new Error('could not store', { cause: pgError });
    logger.error({ err: wrapped }, 'wrapped');
    logger.error(pgError, 'bare');
    logger.warn({ result: { error: pgError } }, 'nested');
    expect(lines).toHaveLength(4);
    expect(lines.join('')).not.toMatch(/marcelina/i);
    expect(JSON.parse(lines[0]!).err).toMatchObject({
      type: 'Error',
      message: 'null value in column "x" violates not-null',
      code: '23502',
      table: 'users',
    });
    expect(JSON.parse(lines[0]!).err).not.toHaveProperty('detail');
    expect(JSON.parse(lines[0]!).err).not.toHaveProperty('where');
    expect(JSON.parse(lines[1]!).err.message).toContain('could not store');
    expect(last().result).toMatchObject({ error: { code: '23502' } });
  });

  it("keeps an error's own name (its class), redacting its personal fields", () => {
    const { logger, last } = capture();
    class OrganizationBusyError extends Error {
      override name = 'OrganizationBusyError';
      email = PERSON.email;
    }
    logger.warn({ err: new OrganizationBusyError('busy') }, 'drain');
    expect(last().err).toMatchObject({ name: 'OrganizationBusyError', email: '[redacted]' });
    logger.warn({ err: new OrganizationBusyError('busy'), user: { name: 'Marcelina' } }, 'drain');
    expect(last().user).toEqual({ name: '[redacted]' });
  });

  it('redacts secrets at the top level, in config and in headers', () => {
    const { logger, lines } = capture();
    const secrets = {
      DATABASE_URL: 'postgres://dirsync:hunter2-db@db/dirsync',
      REDIS_URL: 'redis://:hunter2-redis@cache:6379',
      ADMIN_TOKEN: 'hunter2-admin-token',
      WORKOS_API_KEY: 'sk_test_hunter2',
      WORKOS_WEBHOOK_SECRET: ['whsec_hunter2'],
    };
    logger.info(secrets, 'top level');
    logger.info({ config: secrets }, 'config');
    logger.info(
      {
        req: {
          headers: {
            authorization: 'Bearer hunter2-bearer',
            cookie: 'session=hunter2-cookie',
            'workos-signature': 't=1, v1=hunter2sig',
          },
        },
      },
      'headers',
    );
    logger.info({ authorization: 'Basic aHVudGVyMg==', 'workos-signature': 'v1=hunter2' }, 'top');
    logger.child({ token: 'hunter2-child' }).info('child');
    expect(lines).toHaveLength(5);
    const log = lines.join('');
    expect(log).not.toContain('hunter2');
    expect(log).not.toContain('aHVudGVyMg');
  });

  it('cuts objects nested deeper than a log line needs', () => {
    const { logger, last } = capture();
    let deep: Record<string, unknown> = { email: PERSON.email };
    for (let i = 0; i < 20; i++) deep = { deeper: deep };
    logger.info({ deep }, 'deep');
    expect(JSON.stringify(last())).not.toContain('marcelina');
  });
});
