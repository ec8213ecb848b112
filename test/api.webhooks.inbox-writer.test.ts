// The webhook inbox writer on real Postgres: one bad row of a group-committed batch
// fails alone, while a failure that is not about the data fails the whole batch.
import { describe, expect, it } from 'vitest';
import { createInboxWriter, UnstorableEventError } from '../api/webhooks/inbox-writer.ts';
import { withOverrides } from '../common/config.ts';
import { createDatabase } from '../db/database.ts';
import type { IncomingEvent } from '../db/repositories/inbox.repository.ts';
import { useTestContext } from './support/context.ts';
import { eventId } from './support/events.ts';

const ctx = useTestContext('webhooks_writer');

function incoming(changes: Partial<IncomingEvent> = {}): IncomingEvent {
  const id = changes.eventId ?? eventId('event_writer');
  return {
    eventId: id,
    organizationId: 'org_writer',
    eventType: 'dsync.user.created',
    occurredAt: new Date(),
    source: 'webhook',
    payload: JSON.stringify({ id, event: 'dsync.user.created', data: {} }),
    status: 'pending',
    ...changes,
  };
}

const stored = async (ids: string[]) =>
  (await ctx.db.selectFrom('inbox').select('event_id').where('event_id', 'in', ids).execute()).map(
    (r) => r.event_id,
  );

describe('inbox writer', () => {
  it('stores the good rows of a batch when Postgres refuses one for its data', async () => {
    const write = createInboxWriter(ctx.db);
    const good = [incoming(), incoming(), incoming()];
    const deep = `{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    const bad = [
      incoming({ payload: 'not json' }), // 22P02
      incoming({ eventId: `event_writer_nul_\u0000` }), // 22021
      incoming({ payload: deep }), // 54001, stack depth
    ];
    const duplicate = { ...good[0]! };
    // One turn of the event loop: one batch.
    const results = await Promise.allSettled(
      [good[0]!, bad[0]!, good[1]!, bad[1]!, duplicate, bad[2]!, good[2]!].map(write),
    );
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(results.filter((r) => r.status === 'fulfilled').map((r) => r.value)).toEqual([
      { inserted: true },
      { inserted: true },
      { inserted: false },
      { inserted: true },
    ]);
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    for (const err of errors) expect(err).toBeInstanceOf(UnstorableEventError);
    expect(errors.map((e: UnstorableEventError) => e.code)).toEqual(['22P02', '22021', '54001']);
    expect((await stored(good.map((e) => e.eventId))).sort()).toEqual(
      good.map((e) => e.eventId).sort(),
    );
    expect(await stored([bad[0]!.eventId, bad[2]!.eventId])).toEqual([]);
  });

  it('fails the whole batch when the failure is not about the data', async () => {
    const unreachable = ctx.track(
      'database',
      createDatabase(
        withOverrides(ctx.config, { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/dirsync' }),
      ),
      'destroy',
    );
    try {
      const write = createInboxWriter(unreachable);
      const results = await Promise.allSettled([incoming(), incoming()].map(write));
      for (const r of results) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).not.toBeInstanceOf(UnstorableEventError);
      }
    } finally {
      await unreachable.destroy();
    }
  });
});
