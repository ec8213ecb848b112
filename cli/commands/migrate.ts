// `dirsync migrate [--down]`: brings the database to the newest schema.
import type { Command } from 'commander';
import { createDatabase } from '../../db/database.ts';
import { ensureDatabase, migrateDownAll, migrateToLatest } from '../../db/migrate.ts';
import type { CliContext } from '../context.ts';

export function registerMigrate(program: Command, cli: CliContext): void {
  program
    .command('migrate')
    .description('create the database and schema if missing, then run pending migrations')
    .option('--down', 'undo every migration (drops dirsync tables and their data)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { down?: boolean; json?: boolean }) => {
      const config = cli.config();
      await ensureDatabase(config);
      // Migrations hold a session-level lock: DATABASE_DIRECT_URL, not a pooler.
      const db = createDatabase(config, { poolMax: 1, direct: true });
      try {
        const result = options.down
          ? await migrateDownAll(db, config.DATABASE_SCHEMA)
          : await migrateToLatest(db, config.DATABASE_SCHEMA);
        const applied = (result.results ?? []).map((r) => ({
          migration: r.migrationName,
          direction: r.direction,
        }));
        if (options.json) cli.out(JSON.stringify({ schema: config.DATABASE_SCHEMA, applied }));
        else if (applied.length === 0) cli.out(`schema ${config.DATABASE_SCHEMA} is up to date`);
        else
          for (const a of applied)
            cli.out(`${a.direction === 'Up' ? 'applied' : 'undid'} ${a.migration}`);
      } finally {
        await db.destroy();
      }
    });
}
