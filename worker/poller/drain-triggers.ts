// Drain triggers for the organizations a poll stored new events of, sent off the
// poll's critical path: at most one `triggerDrains` is in flight; organizations
// that arrive meanwhile are coalesced into the next one. Every trigger is still
// sent after the commit of the events it is for, and `flush()` (awaited at the end
// of a poll) returns once all are sent. A lost trigger is recovered by the sweeper,
// so a failure only warns.
import type { Logger } from '../../common/logger.ts';
import { type DrainQueue, triggerDrains } from '../../common/triggers.ts';

export interface DrainTriggers {
  add(organizationIds: Iterable<string>): void;
  flush(): Promise<void>;
}

export function createDrainTriggers(queue: DrainQueue, log: Logger): DrainTriggers {
  let waiting = new Set<string>();
  let sending: Promise<void> | undefined;
  const send = async () => {
    while (waiting.size > 0) {
      const batch = waiting;
      waiting = new Set();
      await triggerDrains(queue, batch).catch((err) =>
        log.warn({ err }, 'could not trigger drains; the sweeper will'),
      );
    }
  };
  const start = () => {
    if (sending || waiting.size === 0) return;
    // Organizations added while the last send was finishing go in the next one.
    sending = send().finally(() => {
      sending = undefined;
      start();
    });
  };
  return {
    add(organizationIds) {
      for (const id of organizationIds) waiting.add(id);
      start();
    },
    async flush() {
      while (sending) await sending;
    },
  };
}
