// Runs the example application: `node examples/session-app/main.ts`, against the
// Postgres and Redis a dirsync deployment uses (its own settings, read here because
// this is the application, not dirsync).
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DirsyncDatabase } from '../../client/index.ts';
import { createExampleApp } from './app.ts';

const env = process.env;
const db = new Kysely<DirsyncDatabase>({
  dialect: new PostgresDialect({
    pool: new pg.Pool({
      connectionString: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/dirsync',
    }),
  }),
});
const app = await createExampleApp({
  db,
  schema: env.DATABASE_SCHEMA ?? 'dirsync',
  redis: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  prefix: env.REDIS_PREFIX ?? 'dirsync',
  // A restarted instance would resume from the id it saved; this one starts a minute back.
  from: { secondsAgo: 60 },
});
const address = await app.server.listen({ port: Number(env.PORT ?? 3000) });
console.log(`example app on ${address}: POST /login {"userId"}, GET /me (Bearer <sessionId>)`);
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, async () => {
    await app.close();
    await db.destroy();
  });
