// The dirsync command line: `dirsync <command> [options]`. Exit codes: 0 success,
// 1 failure, 2 usage or not found, 78 bad configuration. With `--json` an error is
// one JSON line on stderr, `{"error":{"code","message"}}`.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../common/config.ts';
import { loadEnvFile } from '../common/env-file.ts';
import packageJson from '../package.json' with { type: 'json' };
import { registerDead } from './commands/dead.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerPauseResume } from './commands/pause.ts';
import { registerReplay } from './commands/replay.ts';
import { registerResync } from './commands/resync.ts';
import { registerSendTestEvent } from './commands/send-test-event.ts';
import { registerStatus } from './commands/status.ts';
import { CliError, createCliContext } from './context.ts';
import { printError } from './output.ts';

loadEnvFile();
const cli = createCliContext();
// Read from the arguments rather than the parsed options: a usage error is thrown
// before any command has its options. (An option value spelled `--json` counts too.)
const json = process.argv.slice(2).includes('--json');
const program = new Command('dirsync')
  .description("keep an application in step with its customers' identity providers")
  .version(packageJson.version, '-V, --version', 'print the version')
  .exitOverride()
  .showHelpAfterError(!json)
  // With --json the usage error is printed once, as JSON, below.
  .configureOutput({ outputError: (text, write) => (json ? undefined : write(text)) });

registerMigrate(program, cli);
registerResync(program, cli);
registerStatus(program, cli);
registerReplay(program, cli);
registerDead(program, cli);
registerPauseResume(program, cli);
registerSendTestEvent(program, cli);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
    if (json && err.exitCode !== 0) {
      printError(cli, true, 'usage', err.message.replace(/^error: /, ''));
    }
  } else if (err instanceof ConfigError) {
    printError(cli, json, 'invalid_configuration', err.message);
    process.exitCode = 78;
  } else if (err instanceof CliError) {
    printError(cli, json, err.code, json ? err.message : `dirsync: ${err.message}`);
    process.exitCode = err.exitCode;
  } else {
    const message = (err as Error).message;
    printError(cli, json, 'failed', json ? message : `dirsync: ${message}`);
    process.exitCode = 1;
  }
}
