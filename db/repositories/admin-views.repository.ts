// What the status page shows beyond each organization's status: totals across every
// organization, recent deprovisionings and revocations, time to revoke, and one
// organization's directories and recent changes. Each read uses an index (the
// partial pending/dead inbox indexes, audit_log's per-organization and revocation
// indexes), so the page stays fast with 10,000 organizations and a long history.
import { sql } from 'kysely';
import type { Executor } from '../database.ts';

export interface StatusSummary {
  organizations: number;
  /** Organizations with dead events, paused, or with pending events. */
  needingAttention: number;
  withPending: number;
  withDead: number;
  paused: number;
  pending: number;
  dead: number;
}

export async function statusSummary(db: Executor): Promise<StatusSummary> {
  const { rows } = await sql<StatusSummary>`
    with pending as (
      select organization_id, count(*) as n from ${sql.table('inbox')}
      where status = 'pending' and organization_id is not null group by organization_id
    ), dead as (
      select organization_id, count(*) as n from ${sql.table('inbox')}
      where status = 'dead' and organization_id is not null group by organization_id
    ), ids as (
      select id from ${sql.table('organizations')}
      union select organization_id from pending
      union select organization_id from dead
    )
    select
      count(*)::int as "organizations",
      count(*) filter (where coalesce(p.n, 0) + coalesce(d.n, 0) > 0 or o.paused_at is not null)::int
        as "needingAttention",
      count(p.n)::int as "withPending",
      count(d.n)::int as "withDead",
      count(o.paused_at)::int as "paused",
      coalesce(sum(p.n), 0)::int as "pending",
      coalesce(sum(d.n), 0)::int as "dead"
    from ids
    left join ${sql.table('organizations')} o on o.id = ids.id
    left join pending p on p.organization_id = ids.id
    left join dead d on d.organization_id = ids.id
  `.execute(db);
  return rows[0]!;
}

export interface RevocationEntry {
  at: Date;
  organizationId: string;
  action: 'user_deprovisioned' | 'sessions_revoked';
  /** The application's user uuid. */
  userId: string;
  eventId: string;
  /** Sessions revoked (sessions_revoked), or the deprovisioning's reason. */
  sessions: number | null;
  reason: string | null;
}

/** The newest deprovisionings and session revocations, newest first. */
export async function recentRevocations(
  db: Executor,
  options: { organizationId?: string; limit: number },
): Promise<RevocationEntry[]> {
  let query = db
    .selectFrom('audit_log')
    .select(['at', 'organization_id', 'action', 'subject_id', 'event_id', 'detail'])
    .where('action', 'in', ['user_deprovisioned', 'sessions_revoked'])
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(options.limit);
  if (options.organizationId) query = query.where('organization_id', '=', options.organizationId);
  const rows = await query.execute();
  return rows.map((r) => ({
    at: r.at,
    organizationId: r.organization_id,
    action: r.action as RevocationEntry['action'],
    userId: r.subject_id,
    eventId: r.event_id,
    sessions: typeof r.detail.count === 'number' ? r.detail.count : null,
    reason: typeof r.detail.reason === 'string' ? r.detail.reason : null,
  }));
}

export interface RevokeTimes {
  /** Revocations in the window. */
  count: number;
  /** Seconds from the event's arrival to the revoking transaction, 99th percentile. */
  p99Seconds: number | null;
  p50Seconds: number | null;
}

/**
 * Time to revoke over the last `hours`: from the deprovisioning event's arrival in
 * the inbox to the transaction that revoked the sessions (its start, a moment
 * before its commit). At most the newest 10,000 revocations are read.
 */
export async function revokeTimes(db: Executor, hours: number): Promise<RevokeTimes> {
  const { rows } = await sql<RevokeTimes>`
    with recent as (
      select a.at, a.event_id from ${sql.table('audit_log')} a
      where a.action = 'sessions_revoked' and a.at > now() - make_interval(hours => ${hours})
      order by a.at desc limit 10000
    ), times as (
      select greatest(0, extract(epoch from r.at - i.received_at))::float8 as s
      from recent r join ${sql.table('inbox')} i on i.event_id = r.event_id
    )
    select count(*)::int as "count",
      percentile_cont(0.99) within group (order by s) as "p99Seconds",
      percentile_cont(0.5) within group (order by s) as "p50Seconds"
    from times
  `.execute(db);
  return rows[0]!;
}

export interface DirectoryView {
  id: string;
  name: string | null;
  type: string | null;
  state: string;
  deletedAt: Date | null;
  activeUsers: number;
  groups: number;
}

export async function organizationDirectories(
  db: Executor,
  organizationId: string,
): Promise<DirectoryView[]> {
  const { rows } = await sql<DirectoryView>`
    select d.id, d.name, d.type, d.state, d.deleted_at as "deletedAt",
      (select count(*) from ${sql.table('users')} u where u.directory_id = d.id and u.state = 'active'
         and u.deleted_at is null)::int as "activeUsers",
      (select count(*) from ${sql.table('groups')} g where g.directory_id = d.id and g.deleted_at is null)::int
        as "groups"
    from ${sql.table('directories')} d
    where d.organization_id = ${organizationId}
    order by d.deleted_at nulls first, d.id
    limit 100
  `.execute(db);
  return rows;
}

export interface ChangeEntry {
  at: Date;
  eventId: string;
  action: string;
  subjectType: string;
  subjectId: string;
}

/** The organization's newest audit rows: what its events (and operators) changed. */
export async function recentChanges(
  db: Executor,
  organizationId: string,
  limit: number,
): Promise<ChangeEntry[]> {
  const rows = await db
    .selectFrom('audit_log')
    .select(['at', 'event_id', 'action', 'subject_type', 'subject_id'])
    .where('organization_id', '=', organizationId)
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    at: r.at,
    eventId: r.event_id,
    action: r.action,
    subjectType: r.subject_type,
    subjectId: r.subject_id,
  }));
}

export interface PendingEventView {
  eventId: string;
  eventType: string;
  occurredAt: Date;
  receivedAt: Date;
  attempts: number;
}

/** The organization's next pending events, in the order the drain takes them. */
export async function pendingEvents(
  db: Executor,
  organizationId: string,
  limit: number,
): Promise<PendingEventView[]> {
  const rows = await db
    .selectFrom('inbox')
    .select(['event_id', 'event_type', 'occurred_at', 'received_at', 'attempts'])
    .where('organization_id', '=', organizationId)
    .where('status', '=', 'pending')
    .orderBy('occurred_at')
    .orderBy('event_id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    eventId: r.event_id,
    eventType: r.event_type,
    occurredAt: r.occurred_at,
    receivedAt: r.received_at,
    attempts: r.attempts,
  }));
}
