// Glossary of the terms the code uses (drain, tombstone, horizon…): docs/ARCHITECTURE.md
//
// WorkOS directory events: their wire shapes (snake_case, as posted to the webhook
// and returned by the Events API) and the zod schemas that validate them.
import { z } from 'zod';

export const DIRECTORY_EVENT_TYPES = [
  'dsync.activated',
  'dsync.deleted',
  'dsync.user.created',
  'dsync.user.updated',
  'dsync.user.deleted',
  'dsync.group.created',
  'dsync.group.updated',
  'dsync.group.deleted',
  'dsync.group.user_added',
  'dsync.group.user_removed',
] as const;

export type DirectoryEventType = (typeof DIRECTORY_EVENT_TYPES)[number];

const handled = new Set<string>(DIRECTORY_EVENT_TYPES);
export function isDirectoryEventType(type: string): type is DirectoryEventType {
  return handled.has(type);
}

const timestamp = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 timestamp' });
const id = z.string().min(1).max(255);
const nullableText = z
  .string()
  .nullish()
  .transform((v) => v ?? null);

export const directorySchema = z.looseObject({
  id,
  organization_id: id,
  state: z.string().min(1),
  type: nullableText,
  name: nullableText,
  created_at: timestamp,
  updated_at: timestamp,
});

const roleSchema = z.looseObject({ slug: z.string().min(1) });

export const directoryUserSchema = z.looseObject({
  id,
  directory_id: id,
  organization_id: id,
  idp_id: nullableText,
  email: nullableText,
  first_name: nullableText,
  last_name: nullableText,
  state: z.string().min(1),
  custom_attributes: z.record(z.string(), z.unknown()).nullish(),
  role: roleSchema.nullish(),
  roles: z.array(roleSchema).nullish(),
  created_at: timestamp,
  updated_at: timestamp,
});

export const directoryGroupSchema = z.looseObject({
  id,
  directory_id: id,
  organization_id: id,
  idp_id: nullableText,
  name: nullableText,
  created_at: timestamp,
  updated_at: timestamp,
});

export const membershipSchema = z.looseObject({
  directory_id: id,
  user: directoryUserSchema,
  group: directoryGroupSchema,
});

export type DirectoryData = z.infer<typeof directorySchema>;
export type DirectoryUserData = z.infer<typeof directoryUserSchema>;
export type DirectoryGroupData = z.infer<typeof directoryGroupSchema>;
export type MembershipData = z.infer<typeof membershipSchema>;

/** The envelope shared by every WorkOS event. */
export const envelopeSchema = z.looseObject({
  id,
  event: z.string().min(1).max(255),
  data: z.record(z.string(), z.unknown()),
  created_at: timestamp,
});

const dataSchemas = {
  'dsync.activated': directorySchema,
  'dsync.deleted': directorySchema,
  'dsync.user.created': directoryUserSchema,
  'dsync.user.updated': directoryUserSchema,
  'dsync.user.deleted': directoryUserSchema,
  'dsync.group.created': directoryGroupSchema,
  'dsync.group.updated': directoryGroupSchema,
  'dsync.group.deleted': directoryGroupSchema,
  'dsync.group.user_added': membershipSchema,
  'dsync.group.user_removed': membershipSchema,
} as const satisfies Record<DirectoryEventType, z.ZodType>;

type DataOf<T extends DirectoryEventType> = z.infer<(typeof dataSchemas)[T]>;

/** A validated directory event, discriminated by `event`. */
export type DirectoryEvent = {
  [T in DirectoryEventType]: { id: string; event: T; created_at: string; data: DataOf<T> };
}[DirectoryEventType];

/** What an incoming event is: a directory event to apply, or one to record as ignored. */
export type ParsedEvent =
  | { kind: 'directory'; event: DirectoryEvent; organizationId: string; occurredAt: Date }
  | {
      kind: 'ignored';
      id: string;
      type: string;
      organizationId: string | null;
      occurredAt: Date;
    };

export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

/** The organization an event belongs to, wherever its type keeps it. */
function organizationOf(data: Record<string, unknown>): string | null {
  const direct = data.organization_id;
  if (typeof direct === 'string' && direct) return direct;
  for (const key of ['user', 'group'] as const) {
    const nested = data[key] as { organization_id?: unknown } | undefined;
    if (nested && typeof nested.organization_id === 'string' && nested.organization_id) {
      return nested.organization_id;
    }
  }
  return null;
}

/**
 * Validates a decoded wire event. Directory events must match their type's schema;
 * any other well-formed event is returned as `ignored`. Throws InvalidEventError.
 */
export function parseEvent(input: unknown): ParsedEvent {
  const envelope = envelopeSchema.safeParse(input);
  if (!envelope.success) {
    throw new InvalidEventError(`invalid event: ${describe(envelope.error)}`);
  }
  const { id: eventId, event: type, created_at: createdAt, data } = envelope.data;
  const occurredAt = new Date(createdAt);
  if (!isDirectoryEventType(type)) {
    return { kind: 'ignored', id: eventId, type, organizationId: organizationOf(data), occurredAt };
  }
  const parsed = dataSchemas[type].safeParse(data);
  if (!parsed.success) {
    throw new InvalidEventError(`invalid ${type} data: ${describe(parsed.error)}`);
  }
  const event = { id: eventId, event: type, created_at: createdAt, data: parsed.data };
  const organizationId = organizationOf(parsed.data as Record<string, unknown>);
  if (!organizationId) throw new InvalidEventError(`invalid ${type} data: no organization_id`);
  return { kind: 'directory', event: event as DirectoryEvent, organizationId, occurredAt };
}
