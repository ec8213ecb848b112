// Faults met when running many processes: a client that stops sending mid-body
// (slow POST), Postgres unreachable at start-up, Redis unreachable for a while.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { useTestContext } from './support/context.ts';

const ctx = useTestContext('service_faults');

function start(entry: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [entry], {
    env: { ...process.env, ...ctx.env(), MIGRATE_ON_START: 'false', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Every JSON log line of a child, as it comes. */
function logLines(child: ChildProcess): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      lines.push({ msg: line });
    }
  });
  return lines;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 6_000; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('slow clients', () => {
  it('cuts a request whose body stops coming (headers done, 7 of 100 bytes, then silence)', async () => {
    const service = await ctx.startService(
      { api: true, worker: false },
      { HTTP_REQUEST_TIMEOUT_MS: 1_000 },
    );
    const { port } = new URL(service.address!);
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    socket.write(
      'POST /webhooks/workos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        'Content-Length: 100\r\nWorkOS-Signature: t=1, v1=00\r\n\r\n{"id":"',
    );
    try {
      // Closed by the server, not by this test or the test's timeout.
      await once(socket, 'close');
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      socket.destroy();
      await service.stop();
    }
  });
});

describe('start-up without Postgres', () => {
  it('says in its one error line that it is Postgres, and which variable', async () => {
    const child = start('api/main.ts', {
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/dirsync',
      MIGRATE_ON_START: 'true',
    });
    const lines = logLines(child);
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    const errors = lines.filter((l) => Number(l.level) >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toMatch(/^cannot reach Postgres at 127\.0\.0\.1:1 \(DATABASE_URL\): /);
  });

  it('names DATABASE_DIRECT_URL when that is the one migrations could not reach', async () => {
    const child = start('worker/main.ts', {
      DATABASE_DIRECT_URL: 'postgres://postgres@127.0.0.1:1/dirsync',
      MIGRATE_ON_START: 'true',
    });
    const lines = logLines(child);
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    const errors = lines.filter((l) => Number(l.level) >= 50);
    expect(errors.map((l) => l.msg)).toEqual([
      expect.stringMatching(/^cannot reach Postgres at 127\.0\.0\.1:1 \(DATABASE_DIRECT_URL\): /),
    ]);
  });
});

describe('Redis away', () => {
  it('logs each kind of error once, not on every retry, and stops at once on SIGTERM', {
    timeout: 120_000,
  }, async () => {
    // A "Redis" that accepts connections and drops them at once, counting attempts.
    let attempts = 0;
    const sockets = new Set<Socket>();
    const dropper = createServer((socket) => {
      attempts++;
      socket.destroy();
    });
    dropper.listen(0, '127.0.0.1');
    await once(dropper, 'listening');
    const { port } = dropper.address() as AddressInfo;
    // API and worker in one process: every producer, queue and worker connection.
    const child = start('main.ts', {
      REDIS_URL: `redis://127.0.0.1:${port}`,
      LOG_LEVEL: 'info',
      // Far longer than the test: a stop that waited for Redis would time the test out.
      SHUTDOWN_TIMEOUT_MS: '600000',
    });
    try {
      const lines = logLines(child);
      await until(() => lines.some((l) => l.msg === 'dirsync started'), 'the start');
      // Dozens of reconnects by every connection, each failing the same way.
      await until(() => attempts >= 30, 'thirty connection attempts');
      const warnings = lines.filter((l) => Number(l.level) >= 40);
      const kinds = new Map<string, number>();
      for (const w of warnings) {
        const key = `${w.msg} ${(w.err as { code?: string } | undefined)?.code ?? ''}`;
        kinds.set(key, (kinds.get(key) ?? 0) + 1);
      }
      // Each kind once; in all a handful of lines, not one per attempt.
      expect(
        [...kinds.values()].every((n) => n === 1),
        JSON.stringify([...kinds]),
      ).toBe(true);
      expect(warnings.length).toBeLessThan(20);

      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      expect(lines.some((l) => l.msg === 'stopped')).toBe(true);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      for (const s of sockets) s.destroy();
      dropper.close();
    }
  });
});
