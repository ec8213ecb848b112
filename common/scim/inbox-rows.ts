// SCIM's wire events as inbox rows (`source = 'scim'`), through the project's one
// wire-event -> inbox-row conversion.
import type { IncomingEvent } from '../../db/repositories/inbox.repository.ts';
import { toInboxEvent } from '../inbox-row.ts';
import type { WireEvent } from './wire-events.ts';

export function scimInboxRows(events: readonly WireEvent[]): IncomingEvent[] {
  return events.map((event) => {
    const result = toInboxEvent(event, 'scim');
    // The normalizer builds valid events; anything else is a bug, not bad input.
    if (!result.ok || result.row.status !== 'pending') {
      throw new Error(
        `SCIM produced an invalid ${event.event} event: ${result.ok ? result.row.lastError : result.error}`,
      );
    }
    return result.row;
  });
}
