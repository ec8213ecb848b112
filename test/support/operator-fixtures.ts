// A small world for the operator-surface tests: organizations in the states an
// operator cares about, written straight into a test schema. Organization ids are
// per call so that several tests can share one schema.
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Database } from '../../db/database.ts';
import { insertEvents } from '../../db/repositories/inbox.repository.ts';

export interface OperatorWorld {
  /** In sync: events applied, two active users and one deleted. */
  healthy: string;
  /** One dead event (and one applied). */
  failing: string;
  failingEventId: string;
  /** Paused with two pending events, the oldest received 10 minutes ago. */
  paused: string;
  pausedEventIds: string[];
  /** An event without organization, stored as ignored. */
  ignoredEventId: string;
}

export const DEAD_ERROR = 'apply failed: group directory_group_x not found';

export async function seedOperatorWorld(db: Database, tag = 'w'): Promise<OperatorWorld> {
  const suffix = `${tag}_${randomBytes(3).toString('hex')}`;
  const healthy = `org_healthy_${suffix}`;
  const failing = `org_failing_${suffix}`;
  const paused = `org_paused_${suffix}`;
  const id = (name: string) => `event_${name}_${suffix}`;
  const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

  await db
    .insertInto('organizations')
    .values([
      { id: healthy, last_applied_event_id: id('h1'), last_applied_at: minutesAgo(2) },
      { id: failing, last_applied_event_id: id('f0'), last_applied_at: minutesAgo(30) },
      { id: paused, paused_at: minutesAgo(15) },
    ])
    .execute();
  const event = (
    eventId: string,
    organizationId: string | null,
    status: 'pending' | 'ignored' | 'dead',
    occurredAt: Date,
    lastError?: string,
  ) => ({
    eventId,
    organizationId,
    eventType: organizationId ? 'dsync.user.updated' : 'dsync.token.created',
    occurredAt,
    source: 'webhook' as const,
    payload: '{}',
    status,
    lastError,
  });
  await insertEvents(db, [
    event(id('h1'), healthy, 'pending', minutesAgo(3)),
    event(id('f0'), failing, 'pending', minutesAgo(31)),
    event(id('f1'), failing, 'dead', minutesAgo(29), DEAD_ERROR),
    event(id('p1'), paused, 'pending', minutesAgo(12)),
    event(id('p2'), paused, 'pending', minutesAgo(11)),
    event(id('i1'), null, 'ignored', minutesAgo(5)),
  ]);
  await db
    .updateTable('inbox')
    .set({ status: 'applied', applied_at: new Date() })
    .where('event_id', 'in', [id('h1'), id('f0')])
    .execute();
  // received_at is never updated by the service; the tests age it by hand.
  await sql`update ${sql.table('inbox')} set received_at = ${minutesAgo(10)}, attempts = 5
    where event_id in (${id('p1')}, ${id('f1')})`.execute(db);

  const user = (n: number, state: string, deleted = false) => ({
    id: randomUUID(),
    custom_attributes: '{}',
    directory_user_id: `directory_user_${n}_${suffix}`,
    organization_id: healthy,
    directory_id: `directory_${suffix}`,
    state,
    source_updated_at: new Date(),
    source_event_at: new Date(),
    source_event_id: id('h1'),
    deleted_at: deleted ? new Date() : null,
  });
  await db
    .insertInto('users')
    .values([user(1, 'active'), user(2, 'active'), user(3, 'inactive'), user(4, 'active', true)])
    .execute();

  return {
    healthy,
    failing,
    failingEventId: id('f1'),
    paused,
    pausedEventIds: [id('p1'), id('p2')],
    ignoredEventId: id('i1'),
  };
}
