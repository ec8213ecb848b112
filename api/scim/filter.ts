// SCIM filters (RFC 7644 §3.4.2.2), parsed by scim2-parse-filter and translated
// into the conditions the repositories run as SQL. Supported: `eq` on userName,
// externalId, id, displayName, emails.value (also `emails[type eq "work"].value`),
// `active eq true|false`; `co`, `sw`, `ew`, `ne`, `pr` on those text attributes;
// `and`, `or`, `not`. Anything else is 400 invalidFilter, never a full scan.
import { type Filter, parse } from 'scim2-parse-filter';
import type { ScimCondition } from '../../db/repositories/scim-users.repository.ts';
import { ScimError } from './errors.ts';

const ATTRS = new Map([
  ['username', 'userName'],
  ['externalid', 'externalId'],
  ['id', 'id'],
  ['displayname', 'displayName'],
] as const);

const CORE = /^urn:ietf:params:scim:schemas:core:2\.0:(user|group):/i;

function invalid(message: string): never {
  throw new ScimError(400, message, 'invalidFilter');
}

type TextOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'pr';
const TEXT_OPS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'pr']);

function textValue(f: Filter): string {
  if (f.op === 'pr') return '';
  const value = (f as { compValue?: unknown }).compValue;
  if (typeof value !== 'string')
    invalid(`${(f as { attrPath?: string }).attrPath} compares with a string`);
  return value;
}

function emailCondition(valFilter: Filter): ScimCondition {
  // emails[type eq "work" and value eq "x"], emails[value eq "x"], emails[type eq "work"]
  let type: string | undefined;
  let value: { op: TextOp; value: string } | undefined;
  const parts = valFilter.op === 'and' ? (valFilter as { filters: Filter[] }).filters : [valFilter];
  for (const part of parts) {
    const attr = 'attrPath' in part ? String(part.attrPath).toLowerCase() : '';
    if (
      attr === 'type' &&
      part.op === 'eq' &&
      typeof (part as { compValue?: unknown }).compValue === 'string'
    ) {
      type = (part as { compValue: string }).compValue;
    } else if (attr === 'value' && TEXT_OPS.has(part.op) && part.op !== 'ne') {
      value = { op: part.op as TextOp, value: textValue(part) };
    } else {
      invalid('emails[...] filters support type eq and value');
    }
  }
  const v = value ?? { op: 'pr' as const, value: '' };
  return { kind: 'email', op: v.op as 'eq', value: v.value, ...(type ? { type } : {}) };
}

function translate(f: Filter): ScimCondition {
  switch (f.op) {
    case 'and':
    case 'or': {
      const filters = (f as { filters: Filter[] }).filters;
      // `emails[type eq "work"].value eq "x"` parses as a value path AND emails.value.
      if (f.op === 'and') {
        const path = filters.find(
          (x) =>
            x.op === '[]' &&
            String((x as { attrPath: string }).attrPath).toLowerCase() === 'emails',
        );
        const value = filters.find(
          (x) =>
            'attrPath' in x && String(x.attrPath).toLowerCase() === 'emails.value' && x.op !== '[]',
        );
        if (path && value && filters.length === 2) {
          const inner = emailCondition((path as { valFilter: Filter }).valFilter);
          const v = translate(value);
          if (inner.kind === 'email' && v.kind === 'email') return { ...v, type: inner.type };
        }
      }
      return { kind: f.op, of: filters.map(translate) };
    }
    case 'not':
      return { kind: 'not', of: translate((f as { filter: Filter }).filter) };
    case '[]': {
      const attr = String((f as { attrPath: string }).attrPath).toLowerCase();
      if (attr !== 'emails') invalid(`filtering on ${attr}[...] is not supported`);
      return emailCondition((f as { valFilter: Filter }).valFilter);
    }
    default: {
      const attr = String((f as { attrPath: string }).attrPath)
        .replace(CORE, '')
        .toLowerCase();
      if (!TEXT_OPS.has(f.op)) invalid(`operator ${f.op} is not supported on ${attr}`);
      if (attr === 'emails' || attr === 'emails.value') {
        if (f.op === 'ne') invalid('ne is not supported on emails');
        return { kind: 'email', op: f.op as 'eq', value: textValue(f) };
      }
      if (attr === 'active') {
        const v = (f as { compValue?: unknown }).compValue;
        if (f.op !== 'eq' || typeof v !== 'boolean') invalid('active supports eq true or eq false');
        return { kind: 'active', value: v };
      }
      const name = ATTRS.get(attr as 'username');
      if (!name) invalid(`filtering on ${attr} is not supported`);
      return { kind: 'attr', attr: name, op: f.op as TextOp, value: textValue(f) };
    }
  }
}

export function parseFilter(text: string | undefined): ScimCondition | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  if (text.length > 4096) invalid('the filter is too long');
  if (text.includes('\u0000')) invalid('the filter cannot contain NUL (U+0000)');
  let ast: Filter;
  try {
    ast = parse(text);
  } catch (err) {
    invalid(`invalid filter: ${(err as Error).message}`);
  }
  return translate(ast);
}
