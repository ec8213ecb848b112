// Query parameters of SCIM list requests: filter, startIndex (1-based), count
// (RFC 7644 §3.4.2.4), attributes, excludedAttributes. Bad numbers are 400
// invalidValue; out-of-range ones are clamped as the RFC says.
import { ScimError } from './errors.ts';

export const MAX_COUNT = 200;
const DEFAULT_COUNT = 100;

export interface ListQuery {
  filter?: string;
  startIndex?: string;
  count?: string;
  attributes?: string;
  excludedAttributes?: string;
}

function whole(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^-?\d{1,9}$/.test(value.trim()))
    throw new ScimError(400, `${name} must be an integer`, 'invalidValue');
  return Number(value);
}

export function paging(query: ListQuery): { startIndex: number; count: number } {
  const startIndex = Math.max(1, whole(query.startIndex, 'startIndex') ?? 1);
  const count = Math.min(MAX_COUNT, Math.max(0, whole(query.count, 'count') ?? DEFAULT_COUNT));
  return { startIndex, count };
}

export const listQuerySchema = {
  type: 'object',
  properties: {
    filter: { type: 'string' },
    startIndex: { type: 'string' },
    count: { type: 'string' },
    attributes: { type: 'string' },
    excludedAttributes: { type: 'string' },
  },
} as const;
