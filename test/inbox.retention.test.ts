// Inbox retention: applied and ignored rows older than INBOX_RETENTION_DAYS go (their
// payloads hold personal data); pending and dead rows, newer rows and the audit log
// stay. The worker schedules it only when retention is on.
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../common/config.ts';
import { pruneInbox } from '../db/repositories/inbox.repository.ts';
import { pruneOldEvents } from '../worker/prune-inbox.ts';
import { useTestContext } from './support/context.ts';
import { initialSync } from './support/directory.ts';
import { storeEvents } from './support/events.ts';

const ctx = useTestContext('inbox_retention');

async function age(eventIds: string[], days: number) {
  await sql`
    update ${sql.table('inbox')} set received_at = now() - make_interval(days => ${days}::int)
    where event_id = any(${eventIds}::text[])
  `.execute(ctx.db);
}

describe('inbox retention', () => {
  it('deletes only applied and ignored rows past the retention, in batches', async () => {
    const events = initialSync({ org: 'org_retention', users: 7 });
    await storeEvents(ctx.db, events);
    const ids = events.map((e) => e.id);
    const [applied, ignored, dead, pending, recent] = [
      ids.slice(0, 3),
      [ids[3]!],
      [ids[4]!],
      [ids[5]!],
      [ids[6]!, ids[7]!],
    ];
    await ctx.db
      .updateTable('inbox')
      .set({ status: 'applied' })
      .where('event_id', 'in', [...applied, ...recent])
      .execute();
    await ctx.db
      .updateTable('inbox')
      .set({ status: 'ignored' })
      .where('event_id', 'in', ignored)
      .execute();
    await ctx.db
      .updateTable('inbox')
      .set({ status: 'dead' })
      .where('event_id', 'in', dead)
      .execute();
    await age([...applied, ...ignored, ...dead, ...pending], 100);
    await age(recent, 10);
    await ctx.db
      .insertInto('audit_log')
      .values({
        event_id: applied[0]!,
        organization_id: 'org_retention',
        action: 'user_provisioned',
        subject_type: 'user',
        subject_id: 'u',
        detail: '{}',
      })
      .execute();

    expect(await pruneInbox(ctx.db, 90, { batch: 2 })).toBe(4);
    const left = await ctx.db
      .selectFrom('inbox')
      .select('event_id')
      .where('organization_id', '=', 'org_retention')
      .execute();
    expect(left.map((r) => r.event_id).sort()).toEqual([...dead, ...pending, ...recent].sort());
    expect(await pruneInbox(ctx.db, 90)).toBe(0);
    const audit = await ctx.db.selectFrom('audit_log').select('event_id').execute();
    expect(audit).toEqual([{ event_id: applied[0] }]);
  });

  it('is off with INBOX_RETENTION_DAYS=0, and refuses a retention shorter than 30 days', async () => {
    const events = initialSync({ org: 'org_forever', users: 1 });
    await storeEvents(ctx.db, events);
    await ctx.db
      .updateTable('inbox')
      .set({ status: 'applied' })
      .where('organization_id', '=', 'org_forever')
      .execute();
    await age(
      events.map((e) => e.id),
      4000,
    );
    const resources = {
      db: ctx.db,
      logger: ctx.logger,
      config: { ...ctx.config, INBOX_RETENTION_DAYS: 0 },
    };
    expect(await pruneOldEvents(resources)).toEqual({ deleted: 0 });
    expect(() => loadConfig({ INBOX_RETENTION_DAYS: '7' })).toThrow(
      'invalid configuration: INBOX_RETENTION_DAYS: expected 0 or at least 30',
    );
    resources.config.INBOX_RETENTION_DAYS = 3650;
    expect(await pruneOldEvents(resources)).toEqual({ deleted: 2 });
  });

  it('is scheduled by the worker', async () => {
    const service = await ctx.startService(
      { api: false, worker: true },
      { INBOX_RETENTION_DAYS: 30 },
    );
    try {
      expect(await service.worker!.maintenanceQueue.getJobScheduler('prune-inbox')).toMatchObject({
        every: 600_000,
      });
    } finally {
      await service.stop();
    }
  });
});
