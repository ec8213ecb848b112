// The dirsync command line (started by cli/dirsync.ts): `dirsync <command> [options]`. Exit codes: 0 success,
// 1 failure, 2 usage or not found, 78 bad configuration. With `--json` an error is
// one JSON line on stderr, `{"error":{"code","message"}}`.
//
// Only the command being run is loaded (its module and what it imports): `status`
// does not pay for the WorkOS SDK, BullMQ and the reconciler that `resync` needs.
// Help and unknown commands load them all.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../common/config.ts';
import { loadEnvFile } from '../common/env-file.ts';
import { describeError } from '../common/errors.ts';
import packageJson from '../package.json' with { type: 'json' };
import { type CliContext, CliError, createCliContext } from './context.ts';
import { printError } from './output.ts';

type Register = (program: Command, cli: CliContext) => void;

const commands: Record<string, () => Promise<Register>> = {
  migrate: async () => (await import('./commands/migrate.ts')).registerMigrate,
  resync: async () => (await import('./commands/resync.ts')).registerResync,
  status: async () => (await import('./commands/status.ts')).registerStatus,
  replay: async () => (await import('./commands/replay.ts')).registerReplay,
  dead: async () => (await import('./commands/dead.ts')).registerDead,
  // One module registers both.
  pause: async () => (await import('./commands/pause.ts')).registerPauseResume,
  'send-test-event': async () =>
    (await import('./commands/send-test-event.ts')).registerSendTestEvent,
  scim: async () => (await import('./commands/scim.ts')).registerScim,
};

/** The command named on the command line (the first argument not an option), if known. */
function requestedCommand(args: readonly string[]): string | undefined {
  const name = args.find((a) => !a.startsWith('-'));
  if (name === 'resume') return 'pause';
  return name !== undefined && name in commands ? name : undefined;
}

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

const args = process.argv.slice(2);
const requested = requestedCommand(args);
// `--version` needs no command at all.
const versionOnly = !requested && (args.includes('--version') || args.includes('-V'));
for (const name of requested ? [requested] : versionOnly ? [] : Object.keys(commands)) {
  (await commands[name]!())(program, cli);
}

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
    // The causes too: "connect ECONNREFUSED 127.0.0.1:5432" says more than a wrapper's text.
    const message = describeError(err);
    printError(cli, json, 'failed', json ? message : `dirsync: ${message}`);
    process.exitCode = 1;
  }
}
