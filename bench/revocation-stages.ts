// Where the time from a webhook POST to the example app refusing the session goes,
// per deprovisioned user, from the timestamps each stage leaves behind (one machine,
// one clock):
//   post → received   the API stored the event (inbox.received_at);
//   received → revoked  queue wait for the organization's drain, then applying it
//                       (sessions.revoked_at: the revoking transaction's start);
//   revoked → marked  the rest of the drain's transaction and its commit, then the
//                       relay (revocation_outbox.sent_at: when the relay marked the
//                       row, after Redis took it);
//   marked → dropped  the app's listener had it: negative when it came before the
//                       relay's mark (Redis publishes before it answers the relay).
import { sql } from 'kysely';
import type { Database } from '../db/database.ts';
import { percentile, round } from './support.ts';

export interface StageFigures {
  samples: number;
  p50: Record<string, number>;
  p99: Record<string, number>;
}

/** `posted` and `dropped`: epoch ms per user id. */
export async function revocationStages(
  db: Database,
  posted: ReadonlyMap<string, number>,
  dropped: ReadonlyMap<string, number>,
): Promise<StageFigures> {
  if (posted.size === 0) return { samples: 0, p50: {}, p99: {} };
  const { rows } = await sql<{
    user_id: string;
    received_at: Date | null;
    revoked_at: Date;
    sent_at: Date | null;
  }>`
    select o.user_id::text as user_id, o.event_received_at as received_at, o.revoked_at, o.sent_at
    from ${sql.table('revocation_outbox')} o
    where o.user_id = any(${[...posted.keys()]}::uuid[])
  `.execute(db);
  const stages: Record<string, number[]> = {
    post_to_received: [],
    received_to_revoked: [],
    revoked_to_marked: [],
    marked_to_dropped: [],
  };
  let samples = 0;
  for (const row of rows) {
    const post = posted.get(row.user_id);
    const drop = dropped.get(row.user_id);
    if (post === undefined || drop === undefined || !row.received_at || !row.sent_at) continue;
    samples += 1;
    const received = row.received_at.getTime();
    const revoked = row.revoked_at.getTime();
    const sent = row.sent_at.getTime();
    stages.post_to_received!.push(received - post);
    stages.received_to_revoked!.push(revoked - received);
    stages.revoked_to_marked!.push(sent - revoked);
    stages.marked_to_dropped!.push(drop - sent);
  }
  const at = (p: number) =>
    Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, round(percentile(v, p))]));
  return { samples, p50: at(50), p99: at(99) };
}

/** "name p50/p99 ms, …" for the report line. */
export function describeStages(f: StageFigures): string {
  return Object.keys(f.p50)
    .map((k) => `${k.replaceAll('_', ' ')} ${f.p50[k]}/${f.p99[k]}`)
    .join(', ');
}
