// Option parsers shared by the commands. A bad value is a usage error (exit 2).
import { InvalidArgumentError } from 'commander';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) {
    throw new InvalidArgumentError('expected a whole number from 1 to 10000');
  }
  return n;
}
