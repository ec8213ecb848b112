// Connections for the operator commands: a one-connection database handle, and,
// only when an action needs to wake a drain, a fail-fast Redis. Both are closed
// when the command ends. Unknown organizations and events exit with code 2.
import type { Config } from '../common/config.ts';
import { type Actor, type OperatorDeps, OperatorError } from '../common/operator-actions.ts';
import type { Redis } from '../common/redis.ts';
import type { DrainQueue } from '../common/triggers.ts';
import { createDatabase, type Database } from '../db/database.ts';
import { type CliContext, CliError } from './context.ts';

async function withDatabase<T>(config: Config, run: (db: Database) => Promise<T>): Promise<T> {
  const db = createDatabase(config, { poolMax: 1, applicationName: 'dirsync-cli' });
  try {
    return await run(db);
  } catch (err) {
    if (err instanceof OperatorError) throw new CliError(err.message, 2, err.code);
    throw err;
  } finally {
    await db.destroy();
  }
}

/** Runs a read-only command against the database. */
export function reading<T>(cli: CliContext, run: (db: Database) => Promise<T>): Promise<T> {
  return withDatabase(cli.config(), run);
}

/** Runs an operator action: the database, and a drain trigger opened on first use. */
export async function acting<T>(
  cli: CliContext,
  actor: Actor,
  run: (deps: OperatorDeps) => Promise<T>,
): Promise<T> {
  const config = cli.config();
  // Loaded here, not by `status` and other reading commands: BullMQ and ioredis take a
  // while to import. Awaited before the action, so the import does not count against
  // the trigger's time limit.
  const modules = Promise.all([import('../common/redis.ts'), import('../common/triggers.ts')]);
  await modules;
  let redis: Redis | undefined;
  let queue: DrainQueue | undefined;
  try {
    return await withDatabase(config, (db) =>
      run({
        db,
        actor,
        async triggerDrain(organizationId) {
          const [{ createRedis, waitForRedis }, { createDrainQueue, triggerDrain }] = await modules;
          redis ??= createRedis(config, 'producer');
          if (!queue) {
            queue = createDrainQueue(config, redis);
            // Reported once through onTriggerError, not once per reconnect attempt.
            queue.on('error', () => {});
          }
          await waitForRedis(redis, 2_000);
          await triggerDrain(queue, organizationId);
        },
        onTriggerError: (err, organizationId) =>
          cli.err(
            `warning: could not trigger a drain of ${organizationId} (${err.message}); the sweeper will pick it up`,
          ),
      }),
    );
  } finally {
    await queue?.close().catch(() => {});
    redis?.disconnect();
  }
}
