// What every CLI command shares: configuration (parsed on first use, so `--help`
// works without it), output, and the error type that sets the exit code and the
// code a script reads from `--json` errors.
import { type Config, loadConfig } from '../common/config.ts';
import type { OperatorErrorCode } from '../common/operator-actions.ts';

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
