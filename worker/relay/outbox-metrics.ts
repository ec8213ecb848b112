// The outbox's backlog, read from Postgres at scrape time (every relay's process
// reports the same table, so a process that relayed nothing does not read 0):
// unsent messages and the age of the oldest. A read that fails leaves them empty.
// And whether this process's relay is listening for the outbox's NOTIFY (0: it is
// on its poll alone, its LISTEN connection down).
import { Gauge, type Registry } from 'prom-client';
import type { Database } from '../../db/database.ts';
import { revocationBacklog } from '../../db/repositories/revocation-outbox.repository.ts';
import type { RevocationRelay } from './revocation-relay.ts';

export function registerOutboxMetrics(
  registry: Registry,
  db: Database,
  relay: Pick<RevocationRelay, 'listening'>,
): void {
  registry.removeSingleMetric('dirsync_revocation_relay_listening');
  new Gauge({
    name: 'dirsync_revocation_relay_listening',
    help: "1 while this process's revocation relay listens for the outbox's Postgres NOTIFY; 0 while it only polls.",
    registers: [registry],
    collect() {
      this.set(relay.listening ? 1 : 0);
    },
  });
  let inflight: ReturnType<typeof revocationBacklog> | undefined;
  // Both gauges collect in the same scrape: one read.
  const read = () => {
    inflight ??= revocationBacklog(db).finally(() => {
      inflight = undefined;
    });
    return inflight.catch(() => undefined);
  };
  const gauge = (name: string, help: string, value: (b: Awaited<typeof inflight>) => number) => {
    registry.removeSingleMetric(name);
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const backlog = await read();
        this.reset();
        if (backlog) this.set(value(backlog));
      },
    });
  };
  gauge(
    'dirsync_revocation_outbox_unsent',
    'Revocation messages committed but not yet sent to Redis.',
    (b) => b?.unsent ?? 0,
  );
  gauge(
    'dirsync_revocation_outbox_oldest_unsent_age_seconds',
    'How long the oldest unsent revocation message has waited since its revocation (0: none).',
    (b) => (b?.oldestUnsentAt ? Math.max(0, (Date.now() - b.oldestUnsentAt.getTime()) / 1000) : 0),
  );
}
