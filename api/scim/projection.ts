// `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5): which attributes a
// response carries. Names are case-insensitive; a path is `attr`, `attr.sub`, or
// either behind a schema URN (`urn:…:User:department`). `id` and `schemas` are
// always returned.
import { isObject, type Json } from './resources.ts';

type Path = [string] | [string, string];

const ALWAYS = new Set(['id', 'schemas']);

function parsePaths(list: string | undefined): Path[] {
  if (!list) return [];
  return list
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => {
      // A URN-qualified path: the extension object, then its attribute.
      const urn = p.match(/^(urn:.+):([^:]+)$/i);
      if (urn && /^urn:ietf:params:scim:schemas:extension:/i.test(urn[1]!)) {
        return [urn[1]!.toLowerCase(), urn[2]!.toLowerCase()] as Path;
      }
      const core = p.replace(/^urn:ietf:params:scim:schemas:core:2\.0:(User|Group):/i, '');
      const [head, sub] = core.split('.', 2);
      return (sub ? [head!.toLowerCase(), sub.toLowerCase()] : [head!.toLowerCase()]) as Path;
    });
}

function pick(obj: Json, names: Set<string>): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) if (names.has(k.toLowerCase())) out[k] = v;
  return out;
}

export function project(resource: Json, attributes?: string, excluded?: string): Json {
  const include = parsePaths(attributes);
  const exclude = parsePaths(excluded);
  let out: Json = resource;
  if (include.length > 0) {
    out = {};
    for (const [key, value] of Object.entries(resource)) {
      const lower = key.toLowerCase();
      if (ALWAYS.has(lower)) {
        out[key] = value;
        continue;
      }
      const paths = include.filter((p) => p[0] === lower);
      if (paths.length === 0) continue;
      if (paths.some((p) => p.length === 1) || !isObject(value)) out[key] = value;
      else out[key] = pick(value, new Set(paths.map((p) => p[1]!)));
    }
  }
  if (exclude.length > 0) {
    out = { ...out };
    for (const key of Object.keys(out)) {
      const lower = key.toLowerCase();
      if (ALWAYS.has(lower)) continue;
      const paths = exclude.filter((p) => p[0] === lower);
      if (paths.some((p) => p.length === 1)) delete out[key];
      else if (paths.length > 0 && isObject(out[key])) {
        const drop = new Set(paths.map((p) => p[1]!));
        out[key] = Object.fromEntries(
          Object.entries(out[key] as Json).filter(([k]) => !drop.has(k.toLowerCase())),
        );
      }
    }
  }
  return out;
}

/** Whether a Group response needs its members read at all. */
export function wantsMembers(attributes?: string, excluded?: string): boolean {
  const include = parsePaths(attributes);
  if (include.length > 0 && !include.some((p) => p[0] === 'members')) return false;
  return !parsePaths(excluded).some((p) => p[0] === 'members' && p.length === 1);
}
