// The shape of the source tree, checked: every import arrow points down. Process
// wiring (main.ts, service.ts) and the command line sit on top and may import the
// API and the worker; the API (HTTP edge) and the worker (policy) never import each
// other; common/ and db/ are the floor and import nothing above it. Also: SQL is
// written only in db/ (tests and benchmarks aside).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const SOURCE_FOLDERS = ['api', 'worker', 'common', 'db', 'cli', 'client'] as const;
type Layer = (typeof SOURCE_FOLDERS)[number] | 'root';

/** Which layers each layer may import (its own included). */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  root: ['root', 'cli', 'api', 'worker', 'common', 'db'],
  cli: ['cli', 'api', 'worker', 'common', 'db'],
  // The application's library (`dirsync/client`): the contract's types and messages.
  client: ['client', 'common', 'db'],
  api: ['api', 'common', 'db'],
  worker: ['worker', 'common', 'db'],
  common: ['common', 'db'],
  db: ['db', 'common'],
};

/** A process's entry point: nothing imports it, so it may start the process wiring. */
const ENTRY_POINTS = new Set(['main.ts', 'api/main.ts', 'worker/main.ts', 'cli/dirsync.ts']);

function sourceFiles(): string[] {
  const top = readdirSync(ROOT).filter((f) => f.endsWith('.ts') && !f.endsWith('.config.ts'));
  const nested = SOURCE_FOLDERS.flatMap((folder) =>
    readdirSync(path.join(ROOT, folder), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => path.join(folder, f)),
  );
  return [...top, ...nested].map((f) => f.split(path.sep).join('/')).sort();
}

function layerOf(file: string): Layer | undefined {
  if (!file.includes('/')) return 'root';
  const folder = file.slice(0, file.indexOf('/'));
  return (SOURCE_FOLDERS as readonly string[]).includes(folder) ? (folder as Layer) : undefined;
}

/** The repository files a source file imports (static, `export … from`, `import()`). */
function importsOf(file: string, text: string): string[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => path.posix.normalize(path.posix.join(path.posix.dirname(file), name)));
}

type ImportGraph = ReadonlyMap<string, readonly string[]>;

function importGraph(files: readonly string[]): ImportGraph {
  return new Map(
    files.map((f) => [f, importsOf(f, readFileSync(path.join(ROOT, f), 'utf8'))] as const),
  );
}

/** Every arrow of the graph that the rules above forbid, as "from -> to". */
function forbiddenArrows(graph: ImportGraph): string[] {
  const bad: string[] = [];
  for (const [from, targets] of graph) {
    const source = layerOf(from);
    if (!source) continue;
    for (const to of targets) {
      // The package's own manifest (its version) is data every layer may read.
      if (to === 'package.json') continue;
      const target = layerOf(to);
      if (ENTRY_POINTS.has(to)) bad.push(`${from} -> ${to} (an entry point)`);
      else if (!target) bad.push(`${from} -> ${to} (outside the source folders)`);
      else if (ENTRY_POINTS.has(from) && to === 'service.ts') continue;
      else if (!MAY_IMPORT[source].includes(target)) bad.push(`${from} -> ${to}`);
    }
  }
  return bad;
}

// What writes SQL: a Kysely query builder call or the `sql` template tag.
const QUERY_BUILDERS = new Set([
  'selectFrom',
  'selectNoFrom',
  'insertInto',
  'updateTable',
  'deleteFrom',
  'mergeInto',
  'replaceInto',
  'executeQuery',
]);

/** Where a file builds SQL: "file:line what" for each builder call or `sql` import. */
function sqlSites(file: string, text = readFileSync(path.join(ROOT, file), 'utf8')): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const sites: string[] = [];
  const at = (node: ts.Node, what: string) =>
    sites.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${what}`);
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      QUERY_BUILDERS.has(node.expression.name.text)
    ) {
      at(node, `.${node.expression.name.text}()`);
    }
    if (
      ts.isImportDeclaration(node) &&
      ts.isStringLiteral(node.moduleSpecifier) &&
      node.moduleSpecifier.text === 'kysely' &&
      !node.importClause?.isTypeOnly
    ) {
      const named = node.importClause?.namedBindings;
      const values =
        named && ts.isNamedImports(named)
          ? named.elements.filter((e) => !e.isTypeOnly).map((e) => e.name.text)
          : ['*'];
      if (values.includes('sql')) at(node, "import { sql } from 'kysely'");
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return sites;
}

describe('architecture', () => {
  const files = sourceFiles();

  it('finds the source files', () => {
    expect(files).toEqual(
      expect.arrayContaining(['main.ts', 'service.ts', 'api/server.ts', 'db/database.ts']),
    );
  });

  it('has no import arrow pointing up or sideways', () => {
    expect(forbiddenArrows(importGraph(files))).toEqual([]);
  });

  it('tells an arrow pointing up or sideways (the check itself)', () => {
    const graph = new Map([
      ['service.ts', ['api/server.ts', 'worker/worker.ts', 'common/config.ts']],
      ['api/main.ts', ['service.ts']],
      ['cli/commands/resync.ts', ['worker/resync.ts', 'db/database.ts']],
      ['api/routes/x.ts', ['common/triggers.ts', 'db/database.ts', 'worker/drain/x.ts']],
      ['worker/x.ts', ['api/errors.ts']],
      ['common/x.ts', ['db/database.ts', 'worker/worker.ts', 'service.ts']],
      ['db/x.ts', ['common/config.ts', 'cli/context.ts', 'test/support/events.ts']],
      ['cli/x.ts', ['main.ts']],
    ]);
    expect(forbiddenArrows(graph)).toEqual([
      'api/routes/x.ts -> worker/drain/x.ts',
      'worker/x.ts -> api/errors.ts',
      'common/x.ts -> worker/worker.ts',
      'common/x.ts -> service.ts',
      'db/x.ts -> cli/context.ts',
      'db/x.ts -> test/support/events.ts (outside the source folders)',
      'cli/x.ts -> main.ts (an entry point)',
    ]);
    expect(
      importsOf('api/x.ts', "import type { A } from '../db/a.ts';\nawait import('./b.ts');"),
    ).toEqual(['db/a.ts', 'api/b.ts']);
  });

  it('writes SQL only in db/ (tests and benchmarks aside)', () => {
    expect(files.filter((f) => !f.startsWith('db/')).flatMap((f) => sqlSites(f))).toEqual([]);
  });

  it('finds SQL where it is written (the check itself)', () => {
    const text = [
      "import { sql, type Kysely } from 'kysely';",
      "import type { Selectable } from 'kysely';",
      'await db.selectFrom("inbox").selectAll().execute();',
      'await trx.updateTable("users").set({}).execute();',
      'const list = [1, 2].with(0, 3);',
    ].join('\n');
    expect(sqlSites('worker/x.ts', text)).toEqual([
      "worker/x.ts:1 import { sql } from 'kysely'",
      'worker/x.ts:3 .selectFrom()',
      'worker/x.ts:4 .updateTable()',
    ]);
    expect(sqlSites('common/config.ts')).toEqual([]);
  });
});
