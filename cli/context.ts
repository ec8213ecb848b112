// What every CLI command shares: configuration (parsed on first use, so `--help`
// works without it), output, and the error type that sets the exit code and the
// code a script reads from `--json` errors.
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { type Config, loadConfig } from '../common/config.ts';
import type { Actor, OperatorErrorCode } from '../common/operator-actions.ts';

export type CliErrorCode =
  | OperatorErrorCode
  | 'usage'
  | 'invalid_configuration'
  | 'not_configured'
  | 'mass_deletion'
  | 'busy'
  | 'workos_request_failed'
  | 'unreachable'
  | 'webhook_refused'
  | 'failed';

export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;
  readonly code: CliErrorCode;
  constructor(message: string, exitCode = 1, code?: CliErrorCode) {
    super(message);
    this.exitCode = exitCode;
    this.code = code ?? (exitCode === 2 ? 'usage' : 'failed');
  }
}

export interface CliContext {
  config(): Config;
  out(line: string): void;
  err(line: string): void;
}

export function createCliContext(env: NodeJS.ProcessEnv = process.env): CliContext {
  let config: Config | undefined;
  return {
    config: () => {
      config ??= loadConfig(env);
      return config;
    },
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  };
}

/** Adds `--actor <name>`: who the audit log says did a change (default: the OS user). */
export function actorOption(command: Command): Command {
  return command.option('--actor <name>', 'operator name for the audit log (default: the OS user)');
}

/** The operator of a command: --actor, else the OS user (else the uid, without a passwd entry). */
export function cliActor(option: string | undefined): Actor {
  if (option !== undefined) {
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(option)) {
      throw new CliError('--actor: expected 1-64 letters, digits or . _ @ -', 2);
    }
    return { name: option, via: 'cli' };
  }
  try {
    return { name: userInfo().username, via: 'cli' };
  } catch {
    return { name: `uid:${process.getuid?.() ?? 'unknown'}`, via: 'cli' };
  }
}
