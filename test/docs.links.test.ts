// Every relative link in the README and the documents under docs/ leads to a file
// of this repository, as a fresh clone has it: tracked by git, inside the
// repository (a link to a sibling folder of the workspace would not exist there).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

const DOCUMENTS = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Inline `[text](target)` and reference `[label]: target` links, outside code. */
function linksOf(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  const inline = [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)];
  const reference = [...prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)];
  return [...inline, ...reference].map((m) => m[1] as string);
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

/** The files git tracks: what a fresh clone holds. */
function trackedFiles(): Set<string> | undefined {
  try {
    const out = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' });
    return new Set(out.split('\0').filter(Boolean));
  } catch {
    return undefined; // not a git checkout: fall back to the file system
  }
}

/** Why `target`, linked from `document`, would not resolve in a clone; undefined if it does. */
function brokenLink(document: string, target: string, tracked?: Set<string>): string | undefined {
  const file = decodeURIComponent(target.split('#')[0] as string);
  if (file === '') return undefined; // an anchor in the same document
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(document), file));
  if (resolved.startsWith('../') || path.posix.isAbsolute(resolved)) {
    return `${document}: ${target} points outside the repository`;
  }
  const clean = resolved.replace(/\/$/, '');
  const present = tracked
    ? tracked.has(clean) || [...tracked].some((f) => f.startsWith(`${clean}/`))
    : existsSync(path.join(ROOT, clean));
  return present ? undefined : `${document}: ${target} is not in the repository`;
}

describe('documentation links', () => {
  const tracked = trackedFiles();

  it('reads the README and the architecture document', () => {
    expect(DOCUMENTS).toEqual(expect.arrayContaining(['README.md', 'docs/ARCHITECTURE.md']));
  });

  it('resolves every relative link in a fresh clone', () => {
    const broken = DOCUMENTS.flatMap((document) =>
      linksOf(readFileSync(path.join(ROOT, document), 'utf8'))
        .filter((target) => !isExternal(target))
        .map((target) => brokenLink(document, target, tracked))
        .filter((problem) => problem !== undefined),
    );
    expect(broken).toEqual([]);
  });

  it('tells a link that would not resolve (the check itself)', () => {
    const text = [
      'See [the design](../shared/DESIGN.md), [env](.env.example), [x](docs/GONE.md#top),',
      '[web](https://example.com), [here](#configuration) and `[code](nowhere.md)`.',
      '',
      '[ref]: ./missing.ts',
    ].join('\n');
    expect(linksOf(text)).toEqual([
      '../shared/DESIGN.md',
      '.env.example',
      'docs/GONE.md#top',
      'https://example.com',
      '#configuration',
      './missing.ts',
    ]);
    const files = new Set(['README.md', '.env.example', 'docs/ARCHITECTURE.md']);
    const problems = linksOf(text)
      .filter((t) => !isExternal(t))
      .map((t) => brokenLink('README.md', t, files));
    expect(problems).toEqual([
      'README.md: ../shared/DESIGN.md points outside the repository',
      undefined,
      'README.md: docs/GONE.md#top is not in the repository',
      undefined,
      'README.md: ./missing.ts is not in the repository',
    ]);
    expect(brokenLink('docs/ARCHITECTURE.md', '../README.md', new Set(['README.md']))).toBe(
      undefined,
    );
  });
});
