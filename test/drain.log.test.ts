// What the drain logs of what it takes away: one info line per deprovisioned user and
// one per batch that revoked sessions, with ids, reasons and counts, never an email
// or a name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../common/logger.ts';
import type { Resources } from '../common/resources.ts';
import { drainOrganization } from '../worker/drain/drain-organization.ts';
import { useTestContext } from './support/context.ts';
import { directoryData, storeEvents, userData, wireEvent } from './support/events.ts';

const ctx = useTestContext('drain_log');
let resources: Resources;
beforeAll(() => {
  resources = ctx.openResources();
});
afterAll(async () => {
  await resources.close();
});

const T = Date.UTC(2026, 9, 1);

describe('drain log', () => {
  it('logs each deprovisioning and each revocation batch, ids and counts only', async () => {
    const org = 'org_log';
    const directory = `directory_${org}`;
    const user = (i: number, updatedAt: number) =>
      userData({ id: `du_log_${i}`, org, directory, email: `person${i}@log.example`, updatedAt });
    await storeEvents(ctx.db, [
      wireEvent(
        'dsync.activated',
        directoryData({ id: directory, org, updatedAt: T }),
        T,
        'ev_log_0',
      ),
      wireEvent('dsync.user.created', user(1, T + 1), T + 1, 'ev_log_1'),
      wireEvent('dsync.user.created', user(2, T + 2), T + 2, 'ev_log_2'),
    ]);
    const silent = createLogger({ LOG_LEVEL: 'silent' });
    await drainOrganization(resources, org, { log: silent });
    const users = await ctx.db
      .selectFrom('users')
      .select(['id', 'directory_user_id'])
      .where('organization_id', '=', org)
      .orderBy('directory_user_id')
      .execute();
    // The first user has two sessions, the second none.
    await ctx.db
      .insertInto('sessions')
      .values([{ user_id: users[0]!.id }, { user_id: users[0]!.id }])
      .execute();

    await storeEvents(ctx.db, [
      wireEvent('dsync.user.deleted', user(1, T + 10), T + 10, 'ev_log_del_1'),
      wireEvent('dsync.user.deleted', user(2, T + 11), T + 11, 'ev_log_del_2'),
    ]);
    const lines: string[] = [];
    const log = createLogger({ LOG_LEVEL: 'info' }, 'test:drain-log', {
      write: (line: string) => {
        lines.push(line);
      },
    });
    await drainOrganization(resources, org, { log });

    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const pick = (msg: string) =>
      entries
        .filter((e) => e.msg === msg)
        .map(({ level, time, pid, hostname, name, ...rest }) => rest);
    expect(pick('user deprovisioned')).toEqual([
      {
        msg: 'user deprovisioned',
        orgId: org,
        userId: users[0]!.id,
        eventId: 'ev_log_del_1',
        reason: 'user_deleted',
        sessionsRevoked: 2,
      },
      {
        msg: 'user deprovisioned',
        orgId: org,
        userId: users[1]!.id,
        eventId: 'ev_log_del_2',
        reason: 'user_deleted',
        sessionsRevoked: 0,
      },
    ]);
    expect(pick('sessions revoked')).toEqual([
      { msg: 'sessions revoked', orgId: org, users: 1, sessions: 2, eventIds: ['ev_log_del_1'] },
    ]);
    expect(lines.join('')).not.toMatch(/log\.example|person/);
  });
});
