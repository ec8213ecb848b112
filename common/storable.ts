// Making a decoded JSON event storable in Postgres, the same way for every source
// (webhook, Events API, reconciliation, SCIM). Postgres text and jsonb cannot hold
// U+0000, and jsonb refuses a lone UTF-16 surrogate (`"\ud800"` is valid JSON); a
// value nested thousands deep overflows recursive code (Postgres's parser, or ours).
// Refusing such an event would lose it, and with it perhaps a deprovisioning; so the
// offending parts are replaced and each replacement is listed, to be kept with the
// event and named in its audit rows:
// - NUL and lone surrogates in strings (values and keys) become U+FFFD;
// - a number too large for a double (`1e400000`, Infinity once decoded) becomes null;
// - a value nested deeper than MAX_DEPTH below the event is replaced by null.

/** Deepest nesting kept: a WorkOS event's own structure is under ten levels deep. */
export const MAX_DEPTH = 32;

export const REPLACEMENT = '\uFFFD';

export interface Alteration {
  /** Where, as a dotted path from the event's root (`data.custom_attributes.x`). */
  path: string;
  change:
    | 'replaced_unstorable_characters'
    | 'replaced_unstorable_number'
    | 'removed_deep_nesting'
    | 'dropped_invalid_value';
  /** For a dropped value, why it was invalid. */
  reason?: string;
}

export interface Storable<T> {
  value: T;
  /** Empty when the value was storable as it was (then `value` is the input itself). */
  alterations: Alteration[];
}

// One pass over a string, only for the rare string that needs it.
function clean(text: string): string {
  return text.toWellFormed().replaceAll('\0', REPLACEMENT);
}

function needsCleaning(text: string): boolean {
  return !text.isWellFormed() || text.includes('\0');
}

function join(path: string, key: string | number): string {
  return path === '' ? String(key) : `${path}.${key}`;
}

/**
 * Returns `value` with every unstorable part replaced, and what was replaced. A value
 * that needed nothing is returned as it is (no copy), so the common case costs one
 * walk. Recursion stops at MAX_DEPTH, so the walk itself cannot overflow the stack.
 */
export function makeStorable<T>(value: T): Storable<T> {
  const alterations: Alteration[] = [];
  const result = walk(value, '', 0, alterations);
  return { value: (alterations.length === 0 ? value : result) as T, alterations };
}

function walk(value: unknown, path: string, depth: number, out: Alteration[]): unknown {
  if (typeof value === 'string') {
    if (!needsCleaning(value)) return value;
    out.push({ path, change: 'replaced_unstorable_characters' });
    return clean(value);
  }
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    out.push({ path, change: 'replaced_unstorable_number' });
    return null;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) {
    out.push({ path, change: 'removed_deep_nesting' });
    return null;
  }
  const before = out.length;
  if (Array.isArray(value)) {
    const items = value.map((item, i) => walk(item, join(path, i), depth + 1, out));
    return out.length === before ? value : items;
  }
  const entries: Array<[string, unknown]> = [];
  for (const [key, item] of Object.entries(value)) {
    let name = key;
    if (needsCleaning(key)) {
      name = clean(key);
      out.push({ path: join(path, name), change: 'replaced_unstorable_characters' });
    }
    entries.push([name, walk(item, join(path, name), depth + 1, out)]);
  }
  return out.length === before ? value : Object.fromEntries(entries);
}
