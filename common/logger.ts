// The JSON logger shared by api and worker. Secrets, signatures and personal data
// (emails, names) are redacted by path, wherever they sit in a log object.
import { type Logger, pino } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

const sensitive = [
  'email',
  'emails',
  'first_name',
  'last_name',
  'firstName',
  'lastName',
  'name',
  'username',
  'payload',
  'body',
  'password',
  'secret',
  'token',
  'apiKey',
  'authorization',
  'cookie',
  'signature',
];

export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["workos-signature"]',
  'headers.authorization',
  'headers["workos-signature"]',
  'config.WORKOS_WEBHOOK_SECRET',
  'config.WORKOS_API_KEY',
  'config.ADMIN_TOKEN',
  'config.DATABASE_URL',
  ...sensitive,
  ...sensitive.map((key) => `*.${key}`),
  ...sensitive.map((key) => `*.*.${key}`),
];

export function createLogger(config: Pick<Config, 'LOG_LEVEL'>, name = 'dirsync'): Logger {
  return pino({
    name,
    level: config.LOG_LEVEL,
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
