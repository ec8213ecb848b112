// The one conversion from a wire event (snake_case JSON, from any source: webhook,
// Events API, reconciliation, SCIM) to an inbox row:
// 1. made storable (common/storable.ts): what Postgres cannot hold is replaced, and
//    the replacements are kept on the row;
// 2. validated (common/events.ts): directory events are `pending`, other well-formed
//    events `ignored`;
// 3. an invalid event is `pending` when it is a readable deprovisioning (fail closed,
//    common/fail-closed.ts: the drain applies a repaired copy), else `dead` with the
//    reason, so one bad event from the API neither stops the poller forever nor
//    disappears: operators see it among the dead events and can replay it. (The
//    webhook answers 400 for it instead, and stores nothing.)
import type { IncomingEvent } from '../db/repositories/inbox.repository.ts';
import type { InboxSource } from '../db/tables/inbox.table.ts';
import { InvalidEventError, parseEvent } from './events.ts';
import { isReadableDeprovisioning, organizationOfData } from './fail-closed.ts';
import { makeStorable } from './storable.ts';

const MAX_ID = 255;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value.length <= MAX_ID ? value : undefined;
}

export type InboxEventResult =
  | { ok: true; row: IncomingEvent }
  /** Not even an id to store it under: the caller can only log it. */
  | { ok: false; error: string };

/**
 * The inbox row of a decoded wire event. `wireText`, when given, is the JSON text
 * `raw` was decoded from (a webhook's signed body): stored as it is (the payload
 * column is `json`, which keeps text) unless something had to be replaced.
 */
export function toInboxEvent(
  raw: unknown,
  source: InboxSource,
  wireText?: string,
): InboxEventResult {
  const storable = makeStorable(raw);
  const event = storable.value;
  const altered = storable.alterations.length > 0;
  const payload = !altered && wireText !== undefined ? wireText : JSON.stringify(event);
  const alterations = altered ? storable.alterations : undefined;
  try {
    const parsed = parseEvent(event);
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
          alterations,
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
        alterations,
      },
    };
  } catch (err) {
    if (!(err instanceof InvalidEventError)) throw err;
    const record =
      event !== null && typeof event === 'object' ? (event as Record<string, unknown>) : {};
    const eventId = text(record.id);
    if (!eventId) return { ok: false, error: err.message };
    const createdAt = typeof record.created_at === 'string' ? Date.parse(record.created_at) : NaN;
    const keep = isReadableDeprovisioning(event);
    return {
      ok: true,
      row: {
        eventId,
        organizationId: organizationOfData(record.data),
        eventType: text(record.event) ?? 'unknown',
        occurredAt: Number.isNaN(createdAt) ? new Date() : new Date(createdAt),
        source,
        payload,
        status: keep ? 'pending' : 'dead',
        // A kept event is applied repaired; the drain records what it dropped.
        lastError: keep ? undefined : err.message,
        alterations,
      },
    };
  }
}
