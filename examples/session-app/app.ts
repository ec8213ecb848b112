// A small application that relies on dirsync's revocations: a login that creates a
// session row for a dirsync user, a protected route, and the middleware that caches
// session validity and drops a session when its revocation message comes. It reads
// dirsync's tables through dirsync/client (here by path: an application imports
// 'dirsync/client').
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import {
  type DirsyncDatabase,
  isSessionActive,
  listenForRevocations,
  type RevocationListener,
  type StartFrom,
} from '../../client/index.ts';
import { SessionCache } from './session-cache.ts';

export interface ExampleAppOptions {
  db: Kysely<DirsyncDatabase>;
  /** dirsync's DATABASE_SCHEMA. */
  schema: string;
  /** Redis URL and dirsync's REDIS_PREFIX, for the revocation stream. */
  redis: string;
  prefix: string;
  /** Where the listener starts: a saved stream id after a restart, else now. */
  from?: StartFrom;
  /** A cache that outlives this instance (default: a new one). */
  cache?: SessionCache;
  /** Called after each revocation message is applied (tests, logs). */
  onRevoked?(sessionIds: string[], streamId: string): void;
}

export interface ExampleApp {
  server: FastifyInstance;
  cache: SessionCache;
  listener: RevocationListener;
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    sessionId?: string;
  }
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
}

export async function createExampleApp(options: ExampleAppOptions): Promise<ExampleApp> {
  const { db, schema } = options;
  const cache = options.cache ?? new SessionCache();
  const listener = listenForRevocations({
    redis: options.redis,
    prefix: options.prefix,
    from: options.from,
    onMessage(message, streamId) {
      for (const id of message.sessionIds) cache.revoke(id);
      options.onRevoked?.(message.sessionIds, streamId);
    },
    onGap: () => cache.clear(),
  });
  await listener.ready;

  const server = Fastify();
  // The middleware: cached validity, else Postgres (then cached).
  const requireSession = async (
    request: FastifyRequest,
    reply: { code(n: number): { send(b: unknown): unknown } },
  ) => {
    const sessionId = bearer(request);
    let valid = sessionId ? cache.get(sessionId) : false;
    if (sessionId && valid === undefined) {
      valid = await isSessionActive(db, sessionId, { schema });
      cache.remember(sessionId, valid);
    }
    if (!valid) return reply.code(401).send({ error: 'session_invalid' });
    request.sessionId = sessionId;
  };

  server.post<{ Body: { userId?: string } }>('/login', async (request, reply) => {
    const userId = request.body?.userId;
    if (typeof userId !== 'string') return reply.code(400).send({ error: 'userId required' });
    try {
      const row = await db
        .withSchema(schema)
        .insertInto('sessions')
        .values({ user_id: userId })
        .returning('id')
        .executeTakeFirstOrThrow();
      cache.remember(row.id, true);
      return reply.code(201).send({ sessionId: row.id });
    } catch (err) {
      // dirsync's guard: no session for a deprovisioned user.
      if ((err as { code?: string }).code === 'DS001')
        return reply.code(403).send({ error: 'user_deprovisioned' });
      throw err;
    }
  });

  server.get('/me', { preHandler: requireSession }, async (request) => ({
    sessionId: request.sessionId,
  }));

  return {
    server,
    cache,
    listener,
    async close() {
      await server.close();
      await listener.close();
    },
  };
}
