// Fail closed: the one place that says which events deprovision, and how such an
// event is applied when parts of it are invalid.
//
// The rule. An authentic event whose identity is readable (event id, type,
// organization, and the user's, group's or directory's id) and that deprovisions
// always takes effect, whatever else in it is malformed:
// - `dsync.user.deleted`;
// - `dsync.user.created` / `dsync.user.updated` whose `state` is anything but the
//   string "active" (an unknown, missing or mistyped state included);
// - `dsync.group.user_removed` (a removal from a group that grants a role revokes;
//   which groups do is only known when applying, so every removal is kept);
// - `dsync.deleted` (the whole directory).
// SCIM deactivations and deletions become these same events. Such an event is stored
// `pending` even when invalid (never refused at the edge, never stored `dead`), and
// the drain applies a repaired copy: every field that is valid on its own is applied,
// every invalid one is dropped (the stored value stays) and listed as an alteration
// on the inbox row and in the event's audit rows. Events that do not deprovision keep
// the strict path: refused (400) at the webhook, stored `dead` from other sources.
import type { z } from 'zod';
import {
  type DirectoryEvent,
  directoryGroupSchema,
  directorySchema,
  directoryUserSchema,
  membershipSchema,
} from './events.ts';
import type { Alteration } from './storable.ts';

export type DeprovisioningEventType =
  | 'dsync.user.created'
  | 'dsync.user.updated'
  | 'dsync.user.deleted'
  | 'dsync.group.user_removed'
  | 'dsync.deleted';

const MAX_ID = 255;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function readableId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID;
}

/** The organization of an event, wherever its type keeps it. */
export function organizationOfData(data: unknown): string | null {
  if (!isObject(data)) return null;
  for (const candidate of [data, data.user, data.group]) {
    if (isObject(candidate) && readableId(candidate.organization_id)) {
      return candidate.organization_id;
    }
  }
  return null;
}

/**
 * Whether `raw` (a decoded wire event, valid or not) is a deprovisioning whose
 * identity can be read: the test for keeping an invalid event.
 */
export function isReadableDeprovisioning(raw: unknown): boolean {
  if (!isObject(raw) || !readableId(raw.id) || !isObject(raw.data)) return false;
  const data = raw.data;
  if (organizationOfData(data) === null) return false;
  switch (raw.event) {
    case 'dsync.user.deleted':
      return readableId(data.id);
    case 'dsync.user.created':
    case 'dsync.user.updated':
      return readableId(data.id) && data.state !== 'active';
    case 'dsync.group.user_removed':
      return isObject(data.user) && readableId(data.user.id) && isObject(data.group)
        ? readableId(data.group.id)
        : false;
    case 'dsync.deleted':
      return readableId(data.id);
    default:
      return false;
  }
}

/** A deprovisioning rebuilt from an invalid event: valid, and what was dropped. */
export interface RepairedEvent {
  event: DirectoryEvent;
  /**
   * Fields dropped as invalid, by the entity they belong to (`user`, `group`,
   * `directory`): the applier keeps the stored value of each.
   */
  dropped: Alteration[];
}

// Replacements for invalid fields. Text fields are kept from the stored record when
// there is one (see worker/apply/repaired-event.ts); these are for a new record.
function userFallbacks(time: string): Json {
  return {
    directory_id: '',
    idp_id: null,
    email: null,
    first_name: null,
    last_name: null,
    // An unreadable state is not active: fail closed.
    state: 'inactive',
    custom_attributes: undefined,
    role: undefined,
    roles: undefined,
    created_at: time,
    updated_at: time,
  };
}

function groupFallbacks(time: string): Json {
  return { directory_id: '', idp_id: null, name: null, created_at: time, updated_at: time };
}

function directoryFallbacks(time: string): Json {
  return { state: 'deleted', type: null, name: null, created_at: time, updated_at: time };
}

const IDENTITY = new Set(['id', 'organization_id']);

/**
 * Rebuilds one object field by field against `schema`: a field valid on its own is
 * kept, an invalid one replaced by its fallback and listed. Identity fields must be
 * readable; the organization comes from the event when the object lacks it.
 */
function repairObject(
  schema: z.ZodObject,
  raw: unknown,
  path: string,
  organizationId: string,
  fallbacks: Json,
  dropped: Alteration[],
): Json | null {
  if (!isObject(raw) || !readableId(raw.id)) return null;
  const out: Json = { id: raw.id, organization_id: organizationId };
  for (const [key, field] of Object.entries(schema.shape)) {
    if (IDENTITY.has(key)) continue;
    const parsed = (field as z.ZodType).safeParse(raw[key]);
    if (parsed.success) {
      out[key] = parsed.data;
    } else {
      out[key] = fallbacks[key];
      const reason = parsed.error.issues[0]?.message ?? 'invalid';
      dropped.push({ path: `${path}.${key}`, change: 'dropped_invalid_value', reason });
    }
  }
  return out;
}

function validTime(value: unknown): string | null {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value)) && /^\d{4}-/.test(value)
    ? value
    : null;
}

/**
 * The valid event to apply for an invalid deprovisioning, or null when `raw` is not
 * one (then the event stays dead). `occurredAt` dates the event when its own time is
 * unreadable (the inbox row's time).
 */
export function repairDeprovisioning(raw: unknown, occurredAt: Date): RepairedEvent | null {
  if (!isReadableDeprovisioning(raw)) return null;
  const envelope = raw as Json & { id: string; event: DeprovisioningEventType; data: Json };
  const organizationId = organizationOfData(envelope.data)!;
  const createdAt = validTime(envelope.created_at) ?? occurredAt.toISOString();
  const dropped: Alteration[] = [];
  if (validTime(envelope.created_at) === null) {
    dropped.push({ path: 'created_at', change: 'dropped_invalid_value', reason: 'not a time' });
  }
  const data = repairData(envelope.event, envelope.data, organizationId, createdAt, dropped);
  if (data === null) return null;
  const event = { id: envelope.id, event: envelope.event, created_at: createdAt, data };
  return { event: event as DirectoryEvent, dropped };
}

function repairData(
  type: DeprovisioningEventType,
  data: Json,
  organizationId: string,
  time: string,
  dropped: Alteration[],
): Json | null {
  switch (type) {
    case 'dsync.user.created':
    case 'dsync.user.updated':
    case 'dsync.user.deleted':
      return repairObject(
        directoryUserSchema,
        data,
        'data',
        organizationId,
        userFallbacks(time),
        dropped,
      );
    case 'dsync.deleted':
      return repairObject(
        directorySchema,
        data,
        'data',
        organizationId,
        directoryFallbacks(time),
        dropped,
      );
    case 'dsync.group.user_removed': {
      const user = repairObject(
        directoryUserSchema,
        data.user,
        'data.user',
        organizationId,
        userFallbacks(time),
        dropped,
      );
      const group = repairObject(
        directoryGroupSchema,
        data.group,
        'data.group',
        organizationId,
        groupFallbacks(time),
        dropped,
      );
      if (!user || !group) return null;
      const directoryId = membershipSchema.shape.directory_id.safeParse(data.directory_id);
      if (!directoryId.success) {
        dropped.push({
          path: 'data.directory_id',
          change: 'dropped_invalid_value',
          reason: 'not an id',
        });
      }
      const fallbackDirectory = readableId(group.directory_id) ? group.directory_id : '';
      return {
        directory_id: directoryId.success ? directoryId.data : fallbackDirectory,
        user,
        group,
      };
    }
  }
}
