// Turning a wire event (snake_case JSON, as the Events API returns it) into an inbox
// row. Directory events are `pending`, other well-formed events `ignored`. An event
// that fails validation is still stored, as `dead` with the reason, so one bad event
// from the API neither stops the poller forever nor disappears: operators see it
// among the dead events and can replay it once the cause is fixed.
import { InvalidEventError, parseEvent } from '../common/events.ts';
import type { IncomingEvent } from '../db/repositories/inbox.repository.ts';
import type { InboxSource } from '../db/tables/inbox.table.ts';

const MAX_ID = 255;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value.length <= MAX_ID ? value : undefined;
}

/** Best effort, for an event that failed validation. */
function organizationOf(raw: Record<string, unknown>): string | null {
  const data = raw.data as Record<string, unknown> | undefined;
  if (!data || typeof data !== 'object') return null;
  const nested = [data, data.user, data.group] as Array<Record<string, unknown> | undefined>;
  for (const candidate of nested) {
    const id =
      candidate && typeof candidate === 'object' ? text(candidate.organization_id) : undefined;
    if (id) return id;
  }
  return null;
}

export type InboxEventResult =
  | { ok: true; row: IncomingEvent }
  /** Not even an id to store it under: the caller can only log it. */
  | { ok: false; error: string };

export function toInboxEvent(raw: unknown, source: InboxSource): InboxEventResult {
  const payload = JSON.stringify(raw);
  try {
    const parsed = parseEvent(raw);
    if (parsed.kind === 'directory') {
      return {
        ok: true,
        row: {
          eventId: parsed.event.id,
          organizationId: parsed.organizationId,
          eventType: parsed.event.event,
          occurredAt: parsed.occurredAt,
          source,
          payload,
          status: 'pending',
        },
      };
    }
    return {
      ok: true,
      row: {
        eventId: parsed.id,
        organizationId: parsed.organizationId,
        eventType: parsed.type,
        occurredAt: parsed.occurredAt,
        source,
        payload,
        status: 'ignored',
      },
    };
  } catch (err) {
    if (!(err instanceof InvalidEventError)) throw err;
    const record = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
    const eventId = text(record.id);
    if (!eventId) return { ok: false, error: err.message };
    const createdAt = typeof record.created_at === 'string' ? Date.parse(record.created_at) : NaN;
    return {
      ok: true,
      row: {
        eventId,
        organizationId: organizationOf(record),
        eventType: text(record.event) ?? 'unknown',
        occurredAt: Number.isNaN(createdAt) ? new Date() : new Date(createdAt),
        source,
        payload,
        status: 'dead',
        lastError: err.message,
      },
    };
  }
}
