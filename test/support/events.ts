// Test helpers for WorkOS events: the recorded fixtures, builders for synthetic
// directory histories, and storing events in a test schema's inbox.
import { readFileSync } from 'node:fs';
import type { DirectoryEventType } from '../../common/events.ts';
import { toInboxEvent } from '../../common/inbox-row.ts';
import type { Database } from '../../db/database.ts';
import { insertEvents } from '../../db/repositories/inbox.repository.ts';
import type { InboxSource } from '../../db/tables/inbox.table.ts';

export type WireEvent = {
  object?: 'event';
  id: string;
  event: string;
  data: Record<string, unknown>;
  created_at: string;
  context?: Record<string, unknown>;
};

const fixtureDir = new URL('../fixtures/workos/', import.meta.url);

/** A recorded WorkOS payload from test/fixtures/workos (a copy of shared/fixtures). */
export function fixture(
  type: DirectoryEventType | 'dsync.token.created' | 'dsync.token.revoked',
): WireEvent {
  return JSON.parse(readFileSync(new URL(`${type}.json`, fixtureDir), 'utf8')) as WireEvent;
}

export const FIXTURE_ORG = 'org_01M13WZQ808WMW5DRXRGE3RMW4';
export const FIXTURE_DIRECTORY = 'directory_01M1EM7KT9B46SFR3EGVKZX1H8';
export const FIXTURE_USER = 'directory_user_01M1EME25R4RSD73Q99H2E30N9';
export const FIXTURE_GROUP = 'directory_group_01M1EME0PMDKFBD3Z6Y53A3NS5';

/** Stores events in the inbox as pending (or ignored), as ingestion does. */
export async function storeEvents(
  db: Database,
  events: readonly WireEvent[],
  source: InboxSource = 'webhook',
) {
  return insertEvents(
    db,
    events.map((e) => {
      const converted = toInboxEvent(e, source);
      if (!converted.ok) throw new Error(converted.error);
      return converted.row;
    }),
  );
}

let counter = 0;
/** A unique, time-sortable-enough event id for synthetic events. */
export function eventId(prefix = 'event_test'): string {
  counter += 1;
  return `${prefix}_${Date.now().toString(36)}_${counter.toString().padStart(6, '0')}`;
}

const iso = (ms: number) => new Date(ms).toISOString();

export interface UserSpec {
  id: string;
  org: string;
  directory: string;
  state?: 'active' | 'inactive';
  email?: string;
  firstName?: string;
  lastName?: string;
  role?: string;
  updatedAt: number;
}

export function userData(u: UserSpec) {
  return {
    object: 'directory_user',
    id: u.id,
    directory_id: u.directory,
    organization_id: u.org,
    idp_id: `idp_${u.id}`,
    email: u.email ?? `${u.id}@example.com`,
    first_name: u.firstName ?? 'Ada',
    last_name: u.lastName ?? 'Lovelace',
    state: u.state ?? 'active',
    raw_attributes: {},
    custom_attributes: { department: 'Engineering' },
    role: { slug: u.role ?? 'member' },
    roles: [{ slug: u.role ?? 'member' }],
    created_at: iso(0),
    updated_at: iso(u.updatedAt),
  };
}

export interface GroupSpec {
  id: string;
  org: string;
  directory: string;
  name?: string;
  updatedAt: number;
}

export function groupData(g: GroupSpec) {
  return {
    object: 'directory_group',
    id: g.id,
    idp_id: `idp_${g.id}`,
    directory_id: g.directory,
    organization_id: g.org,
    name: g.name ?? `Group ${g.id}`,
    created_at: iso(0),
    updated_at: iso(g.updatedAt),
    raw_attributes: {},
  };
}

export function directoryData(d: { id: string; org: string; updatedAt: number; state?: string }) {
  return {
    object: 'directory',
    id: d.id,
    organization_id: d.org,
    type: 'okta scim v2.0',
    state: d.state ?? 'active',
    name: `Directory ${d.id}`,
    created_at: iso(0),
    updated_at: iso(d.updatedAt),
  };
}

export function wireEvent(
  type: DirectoryEventType,
  data: Record<string, unknown>,
  at: number,
  id = eventId(),
): WireEvent {
  return { object: 'event', id, event: type, data, created_at: iso(at), context: {} };
}
