// dirsync/client as an application gets it: `npm pack` (whose prepack builds dist/),
// the tarball unpacked into an application's node_modules, and `dirsync/client`
// imported there by plain Node. A copy under node_modules is what a tarball or git
// dependency installs, and Node does not strip types there, so this is the case
// TypeScript sources alone would fail.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');

describe('dirsync/client package export', () => {
  it('is built by npm pack and loads from an installed copy', async () => {
    // Under the repository, so the unpacked copy finds kysely and ioredis in its
    // node_modules as an application's install would provide them.
    mkdirSync(join(root, 'test/artifacts'), { recursive: true });
    const app = mkdtempSync(join(root, 'test/artifacts/consumer-'));
    try {
      const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', app], {
        cwd: root,
      });
      const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{
        filename: string;
        files: Array<{ path: string }>;
      }>;
      const files = packed!.files.map((f) => f.path);
      expect(files).toEqual(
        expect.arrayContaining(['dist/client/index.js', 'dist/client/index.d.ts']),
      );
      const installed = join(app, 'node_modules/dirsync');
      mkdirSync(installed, { recursive: true });
      await run('tar', [
        'xzf',
        join(app, packed!.filename),
        '-C',
        installed,
        '--strip-components=1',
      ]);
      writeFileSync(
        join(app, 'consumer.mjs'),
        "const client = await import('dirsync/client');\nconsole.log(Object.keys(client).sort().join(','));\n",
      );
      const imported = await run(process.execPath, ['consumer.mjs'], { cwd: app });
      expect(imported.stdout.trim()).toBe(
        'compareStreamIds,isSessionActive,listenForRevocations,parseRevocationMessage,sessionsRevokedKey',
      );
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  }, 300_000);
});
