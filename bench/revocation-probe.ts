// The example application (examples/session-app) inside bench:apply: every session
// of the users to be deprovisioned is cached as valid first, and the app's listener
// records when each user's sessions were dropped, from which moment the app refuses
// them. At the end, every session is asked for again (GET /me) to count refusals.
import type { Kysely } from 'kysely';
import type { DirsyncDatabase } from '../client/index.ts';
import type { Config } from '../common/config.ts';
import type { Database } from '../db/database.ts';
import { createExampleApp } from '../examples/session-app/app.ts';

export async function startRevocationProbe(
  config: Config,
  db: Database,
  sessionsByUser: ReadonlyMap<string, readonly string[]>,
) {
  const owner = new Map<string, string>();
  for (const [user, sessions] of sessionsByUser) for (const s of sessions) owner.set(s, user);
  const dropped = new Map<string, number>();
  const app = await createExampleApp({
    db: db as unknown as Kysely<DirsyncDatabase>,
    schema: config.DATABASE_SCHEMA,
    redis: config.REDIS_URL ?? 'redis://127.0.0.1:6379', // the probe runs on a single Redis
    prefix: config.REDIS_PREFIX,
    onRevoked(sessionIds) {
      const now = performance.now();
      for (const id of sessionIds) {
        const user = owner.get(id);
        if (user && !dropped.has(user)) dropped.set(user, now);
      }
    },
  });
  const me = async (sessionId: string) =>
    (
      await app.server.inject({
        method: 'GET',
        url: '/me',
        headers: { authorization: `Bearer ${sessionId}` },
      })
    ).statusCode;
  for (const sessionId of owner.keys()) {
    if ((await me(sessionId)) !== 200) throw new Error('a probe session was not valid at start');
  }
  return {
    /** performance.now() when the app dropped each user's sessions. */
    dropped,
    /** How many of these users have every session refused by the app now. */
    async refused(users: Iterable<string>): Promise<number> {
      let n = 0;
      for (const user of users) {
        const statuses = await Promise.all((sessionsByUser.get(user) ?? []).map(me));
        if (statuses.length > 0 && statuses.every((s) => s === 401)) n += 1;
      }
      return n;
    },
    close: () => app.close(),
  };
}
