// `npm run bench <name>`: runs bench/<name>.ts (ingest, apply, poll, scim).
import { existsSync } from 'node:fs';

const name = process.argv[2];
const known = ['ingest', 'apply', 'poll', 'scim'];
if (!name || !known.includes(name)) {
  process.stderr.write(`usage: npm run bench <${known.join('|')}>\n`);
  process.exit(2);
}
const file = new URL(`./${name}.ts`, import.meta.url);
if (!existsSync(file)) {
  process.stderr.write(`bench ${name} is not written yet\n`);
  process.exit(2);
}
process.argv.splice(2, 1);
await import(file.href);
