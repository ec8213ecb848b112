// The README's run command, as a user runs it: a real process that migrates a fresh
// schema, answers /healthz and /readyz, and stops cleanly on SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { useTestContext } from './support/context.ts';

const ctx = useTestContext('process');

function start(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function waitForLine(child: ChildProcess, match: (line: Record<string, unknown>) => boolean) {
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    if (match(parsed)) return parsed;
  }
  throw new Error('process ended before the expected log line');
}

describe('service process', () => {
  it('migrates, answers health checks, and stops on SIGTERM', async () => {
    const schema = `${ctx.config.DATABASE_SCHEMA}_proc`;
    const child = start({
      ...ctx.env(),
      DATABASE_SCHEMA: schema,
      PORT: '0',
      LOG_LEVEL: 'info',
    });
    try {
      const started = await waitForLine(child, (l) => l.msg === 'dirsync started');
      const address = started.address as string;
      expect((await fetch(`${address}/healthz`)).status).toBe(200);
      const ready = await fetch(`${address}/readyz`);
      expect(ready.status).toBe(200);
      const { rows } = await ctx.db
        .selectFrom('information_schema.tables' as never)
        .select('table_name' as never)
        .where('table_schema' as never, '=', schema as never)
        .execute()
        .then((r) => ({ rows: r }));
      expect(rows.length).toBeGreaterThan(5);
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await ctx.db.schema.dropSchema(schema).ifExists().cascade().execute();
    }
  });

  it('refuses to start with a clear line naming a malformed variable', async () => {
    const child = start({ PORT: 'eighty' });
    let stderr = '';
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(78);
    expect(stderr.trim()).toBe(
      'invalid configuration: PORT: expected a whole number (decimal digits)',
    );
  });
});
