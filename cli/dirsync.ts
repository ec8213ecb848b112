// The dirsync command line: `dirsync <command> [options]`. Exit codes: 0 success,
// 1 failure, 2 usage or not found, 78 bad configuration.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../common/config.ts';
import { registerDead } from './commands/dead.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerPauseResume } from './commands/pause.ts';
import { registerReplay } from './commands/replay.ts';
import { registerResync } from './commands/resync.ts';
import { registerStatus } from './commands/status.ts';
import { CliError, createCliContext } from './context.ts';

const cli = createCliContext();
const program = new Command('dirsync')
  .description("keep an application in step with its customers' identity providers")
  .exitOverride()
  .showHelpAfterError();

registerMigrate(program, cli);
registerResync(program, cli);
registerStatus(program, cli);
registerReplay(program, cli);
registerDead(program, cli);
registerPauseResume(program, cli);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof ConfigError) {
    cli.err(err.message);
    process.exitCode = 78;
  } else if (err instanceof CliError) {
    cli.err(`dirsync: ${err.message}`);
    process.exitCode = err.exitCode;
  } else {
    cli.err(`dirsync: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
