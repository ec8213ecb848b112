// What every CLI command shares: configuration (parsed on first use, so `--help`
// works without it), output, and the error type that sets the exit code.
import { type Config, loadConfig } from '../common/config.ts';

export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
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
