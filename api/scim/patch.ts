// PATCH (RFC 7644 §3.5.2) as identity providers send it. The operations on plain
// attributes are applied by scim-patch; this module first evens out what Okta and
// Entra ID send differently (`"Replace"` in any case, enterprise attributes by full
// URN path or as URN-named keys of a path-less value), refuses what must not change
// (id, meta), and takes group `members` operations out so they run as row inserts
// and deletes (never reading or rewriting the whole member list): `add`, `replace`
// (a full list), `remove` of everyone, of the users in a `value` array (Entra ID's
// `path: "members"` removal), or of `members[value eq "…"]`.
import { scimPatch } from 'scim-patch';
import { type Filter, parse } from 'scim2-parse-filter';
import { ScimError } from './errors.ts';
import { isObject, type Json, memberIds } from './resources.ts';

type Op = 'add' | 'remove' | 'replace';
interface Operation {
  op: Op;
  path?: string;
  value?: unknown;
}

export type MemberChange =
  | { kind: 'add' | 'remove' | 'replace'; ids: string[] }
  | { kind: 'removeAll' };

const READ_ONLY = /^(id|meta|schemas)(\.|$)/i;
/** A schema URN (`…:2.0:User`), not an attribute path behind one. */
const SCHEMA_URN = /^urn:\S*:\d+\.\d+:[A-Za-z]+$/;

function operations(body: unknown, id: string): Operation[] {
  if (!isObject(body)) throw new ScimError(400, 'the body must be a JSON object', 'invalidSyntax');
  const key = Object.keys(body).find((k) => k.toLowerCase() === 'operations');
  const list = key ? body[key] : undefined;
  if (!Array.isArray(list) || list.length === 0) {
    throw new ScimError(400, 'Operations must be a non-empty array', 'invalidSyntax');
  }
  if (list.length > 1000)
    throw new ScimError(400, 'at most 1000 operations per request', 'tooMany');
  return list.map((raw) => {
    if (!isObject(raw))
      throw new ScimError(400, 'each operation must be an object', 'invalidSyntax');
    const op = typeof raw.op === 'string' ? raw.op.toLowerCase() : '';
    if (op !== 'add' && op !== 'remove' && op !== 'replace') {
      throw new ScimError(
        400,
        `op must be add, remove or replace (got ${JSON.stringify(raw.op)})`,
        'invalidSyntax',
      );
    }
    if (raw.path !== undefined && raw.path !== null && typeof raw.path !== 'string') {
      throw new ScimError(400, 'path must be a string', 'invalidPath');
    }
    const path =
      typeof raw.path === 'string' && raw.path.trim() !== '' ? raw.path.trim() : undefined;
    if (path && READ_ONLY.test(path)) {
      throw new ScimError(400, `${path} cannot be changed`, 'mutability');
    }
    if (!path && op === 'remove') throw new ScimError(400, 'remove needs a path', 'noTarget');
    if (!path && !isObject(raw.value)) {
      throw new ScimError(400, `${op} without a path needs an object value`, 'invalidValue');
    }
    if (!path) {
      // Okta's group rename repeats the id in the value: harmless when it is the same.
      const { id: given, schemas: _s, meta: _m, ...rest } = raw.value as Json;
      if (given !== undefined && given !== id) {
        throw new ScimError(400, 'id cannot be changed', 'mutability');
      }
      return { op, value: rest };
    }
    if (op !== 'remove' && raw.value === undefined) {
      throw new ScimError(400, `${op} needs a value`, 'invalidValue');
    }
    return {
      op,
      ...(path ? { path } : {}),
      ...(raw.value !== undefined ? { value: raw.value } : {}),
    };
  });
}

/**
 * A path-less value may name an extension's attributes as `"urn:…:User:department"`
 * keys (Entra ID) or as an `"urn:…:User": {…}` object (RFC 7644 §3.5.2.3): scim-patch
 * merges the first form only, so the second is spelled out as the first.
 */
function flattenExtensionObjects(value: Json): Json {
  const out: Json = {};
  for (const [key, v] of Object.entries(value)) {
    if (SCHEMA_URN.test(key) && isObject(v)) {
      for (const [sub, subValue] of Object.entries(v)) out[`${key}:${sub}`] = subValue;
    } else out[key] = v;
  }
  return out;
}

const patchErrors: Record<string, ['noTarget' | 'invalidPath' | 'invalidValue' | 'invalidSyntax']> =
  {
    NoTarget: ['noTarget'],
    NoPathInScimPatchOp: ['noTarget'],
    FilterOnEmptyArray: ['noTarget'],
    FilterArrayTargetNotFound: ['noTarget'],
    InvalidScimPatchOp: ['invalidPath'],
    InvalidRemoveOpPath: ['invalidPath'],
    InvalidScimPatchRequest: ['invalidSyntax'],
  };

/** Applies attribute operations to a resource's stored attributes (a copy). */
function applyAttributeOps(schemas: string[], attributes: Json, ops: Operation[]): Json {
  if (ops.length === 0) return attributes;
  const doc = { schemas, ...structuredClone(attributes) };
  const normalized = ops.map((o) =>
    o.path ? o : { ...o, value: flattenExtensionObjects(o.value as Json) },
  );
  let patched: Json;
  try {
    patched = scimPatch(doc as never, normalized as never, {
      mutateDocument: false,
      treatMissingAsAdd: true,
    }) as unknown as Json;
  } catch (err) {
    const kind = patchErrors[(err as Error).constructor.name]?.[0] ?? 'invalidValue';
    throw new ScimError(400, (err as Error).message, kind);
  }
  const { schemas: _s, ...rest } = patched;
  return rest;
}

export function patchUser(id: string, schemas: string[], attributes: Json, body: unknown): Json {
  return applyAttributeOps(schemas, attributes, operations(body, id));
}

/** The member ids a `members[value eq "…"]` path names (`or` of several too). */
function filteredMembers(path: string): string[] | undefined {
  const m = /^members\[(.+)\]$/i.exec(path);
  if (!m) return undefined;
  let ast: Filter;
  try {
    ast = parse(m[1]!);
  } catch {
    throw new ScimError(400, `invalid path ${path}`, 'invalidPath');
  }
  const ids: string[] = [];
  const visit = (f: Filter) => {
    if (f.op === 'or') for (const x of (f as { filters: Filter[] }).filters) visit(x);
    else if (
      f.op === 'eq' &&
      String((f as { attrPath: string }).attrPath).toLowerCase() === 'value'
    ) {
      ids.push(String((f as { compValue: unknown }).compValue));
    } else
      throw new ScimError(
        400,
        `members filters support value eq "…" (got ${path})`,
        'invalidFilter',
      );
  };
  visit(ast);
  return ids;
}

export interface GroupPatch {
  attributes: Json;
  members: MemberChange[];
}

export function patchGroup(
  id: string,
  schemas: string[],
  attributes: Json,
  body: unknown,
): GroupPatch {
  const attributeOps: Operation[] = [];
  const members: MemberChange[] = [];
  for (const o of operations(body, id)) {
    if (!o.path) {
      const value = o.value as Json;
      const rest: Json = {};
      for (const [key, v] of Object.entries(value)) {
        if (key.toLowerCase() === 'members') {
          members.push({ kind: o.op === 'replace' ? 'replace' : 'add', ids: memberIds(v) });
        } else rest[key] = v;
      }
      if (Object.keys(rest).length > 0) attributeOps.push({ ...o, value: rest });
      continue;
    }
    if (o.path.toLowerCase() === 'members') {
      if (o.op === 'remove') {
        const ids = o.value === undefined ? [] : memberIds(o.value);
        members.push(ids.length > 0 ? { kind: 'remove', ids } : { kind: 'removeAll' });
      } else members.push({ kind: o.op, ids: memberIds(o.value) });
      continue;
    }
    const filtered = filteredMembers(o.path);
    if (filtered) {
      if (o.op !== 'remove') {
        throw new ScimError(
          400,
          `${o.op} on ${o.path} is not supported; add members by value`,
          'invalidPath',
        );
      }
      members.push({ kind: 'remove', ids: filtered });
      continue;
    }
    if (/^members\./i.test(o.path))
      throw new ScimError(400, `${o.path} cannot be changed`, 'invalidPath');
    attributeOps.push(o);
  }
  return { attributes: applyAttributeOps(schemas, attributes, attributeOps), members };
}
