// Output of the operator commands: plain text for people, `--json` for scripts.

/** A text table; the last column is not padded, so a long error does not widen every line. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...rows.map(line)];
}

/** Prints `value` as one JSON document, or the human lines. */
export function print(
  cli: { out(line: string): void },
  json: boolean | undefined,
  value: unknown,
  human: () => string[],
): void {
  if (json) cli.out(JSON.stringify(value, null, 2));
  else for (const line of human()) cli.out(line);
}

/**
 * A failed command on stderr: `dirsync: <message>` for people, or with `--json` one
 * line `{"error":{"code","message"}}` (the admin API's shape) for scripts. stdout
 * keeps only results, so a script's parse of it never meets an error text.
 */
export function printError(
  cli: { err(line: string): void },
  json: boolean,
  code: string,
  message: string,
): void {
  if (json) cli.err(JSON.stringify({ error: { code, message } }));
  else cli.err(message);
}

/** What happened to the drain trigger after an action. */
export function drainNote(r: {
  triggered: boolean;
  paused?: boolean;
  organizationId: string;
}): string {
  if (r.paused) {
    return `${r.organizationId} is paused: the events wait until \`dirsync resume --org ${r.organizationId}\``;
  }
  return r.triggered ? 'drain triggered' : 'drain not triggered (the sweeper will pick it up)';
}
