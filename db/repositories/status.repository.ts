// How far behind each organization is: the one status query behind the admin API,
// the status page, `dirsync status` and the scrape-time metrics. It reads only the
// partial inbox indexes (pending, dead) and the organizations table, so it stays
// cheap however large the applied history grows.
import { type RawBuilder, sql } from 'kysely';
import type { Executor } from '../database.ts';

/** One word for an operator: what needs attention first wins. */
export type OrganizationState = 'dead_events' | 'paused' | 'catching_up' | 'in_sync';

export interface OrganizationStatus {
  organizationId: string;
  state: OrganizationState;
  paused: boolean;
  pausedAt: Date | null;
  /** Provisioned users whose state is active; null when not counted (`seats: false`). */
  activeSeats: number | null;
  pending: number;
  /** When the longest-waiting pending event was received; null with nothing pending. */
  oldestPendingAt: Date | null;
  /** Seconds since then, by the database's clock (which stamped `received_at`). */
  oldestPendingAgeSeconds: number | null;
  dead: number;
  lastAppliedEventId: string | null;
  lastAppliedAt: Date | null;
  lastReconciledAt: Date | null;
}

export interface StatusOptions {
  /** Only this organization. */
  organizationId?: string;
  /** Most organizations returned, those needing attention first. */
  limit?: number;
  /** Organizations skipped before the first returned (paging). */
  offset?: number;
  /** Only organizations whose id contains this text (case-insensitive). */
  search?: string;
  /** Count active seats (one index scan of users per returned organization). */
  seats?: boolean;
}

export interface OrganizationStatuses {
  organizations: OrganizationStatus[];
  /** Organizations matched before the limit. */
  total: number;
}

interface Row {
  organization_id: string;
  paused_at: Date | null;
  pending: number;
  oldest_pending_at: Date | null;
  oldest_pending_age_seconds: number | null;
  dead: number;
  last_applied_event_id: string | null;
  last_applied_at: Date | null;
  last_reconciled_at: Date | null;
  active_seats: number | null;
  total: number;
}

// Needing attention first: organizations with a backlog or dead events, the one
// waiting longest at the top; then the rest by id.
const attentionOrder = sql`(pending + dead > 0) desc, oldest_pending_at asc nulls last, dead desc, organization_id`;

/**
 * Every known organization (a row in `organizations`, or pending or dead events in
 * the inbox) with its backlog, dead events, pause and last activity.
 */
export async function organizationStatuses(
  db: Executor,
  options: StatusOptions = {},
): Promise<OrganizationStatuses> {
  const only = (column: RawBuilder<unknown>) =>
    options.organizationId === undefined ? sql`` : sql`and ${column} = ${options.organizationId}`;
  const seats = options.seats ?? true;
  const result = await sql<Row>`
    with pending as (
      select organization_id, count(*) as pending, min(received_at) as oldest_pending_at,
        greatest(0, extract(epoch from now() - min(received_at)))::float8 as oldest_pending_age_seconds
      from ${sql.table('inbox')}
      where status = 'pending' and organization_id is not null ${only(sql.ref('organization_id'))}
      group by organization_id
    ), dead as (
      select organization_id, count(*) as dead
      from ${sql.table('inbox')}
      where status = 'dead' and organization_id is not null ${only(sql.ref('organization_id'))}
      group by organization_id
    ), ids as (
      select id from ${sql.table('organizations')} where true ${only(sql.ref('id'))}
      union select organization_id from pending
      union select organization_id from dead
    ), statuses as (
      select ids.id as organization_id, o.paused_at, o.last_applied_event_id, o.last_applied_at,
        o.last_reconciled_at, coalesce(p.pending, 0) as pending, p.oldest_pending_at,
        p.oldest_pending_age_seconds,
        coalesce(d.dead, 0) as dead
      from ids
      left join ${sql.table('organizations')} o on o.id = ids.id
      left join pending p on p.organization_id = ids.id
      left join dead d on d.organization_id = ids.id
      where ${
        options.search
          ? sql`ids.id ilike ${`%${options.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`}`
          : sql`true`
      }
    ), page as (
      select statuses.*, count(*) over () as total
      from statuses
      order by ${attentionOrder}
      limit ${options.limit ?? 500}
      offset ${options.offset ?? 0}
    )
    select page.*, ${
      seats
        ? sql`(select count(*) from ${sql.table('users')} u
            where u.organization_id = page.organization_id and u.state = 'active'
              and u.deleted_at is null)`
        : sql`null::bigint`
    } as active_seats
    from page
    order by ${attentionOrder}
  `.execute(db);
  if (result.rows.length === 0 && (options.offset ?? 0) > 0) {
    // Past the last page: the total still counts what matched.
    const first = await organizationStatuses(db, { ...options, offset: 0, limit: 1, seats: false });
    return { total: first.total, organizations: [] };
  }
  return {
    total: result.rows[0]?.total ?? 0,
    organizations: result.rows.map((r) => ({
      organizationId: r.organization_id,
      state:
        r.dead > 0
          ? 'dead_events'
          : r.paused_at
            ? 'paused'
            : r.pending > 0
              ? 'catching_up'
              : 'in_sync',
      paused: r.paused_at !== null,
      pausedAt: r.paused_at,
      activeSeats: r.active_seats,
      pending: r.pending,
      oldestPendingAt: r.oldest_pending_at,
      oldestPendingAgeSeconds: r.oldest_pending_age_seconds,
      dead: r.dead,
      lastAppliedEventId: r.last_applied_event_id,
      lastAppliedAt: r.last_applied_at,
      lastReconciledAt: r.last_reconciled_at,
    })),
  };
}

/** One organization's status, or undefined when it is unknown. */
export async function organizationStatus(
  db: Executor,
  organizationId: string,
): Promise<OrganizationStatus | undefined> {
  const { organizations } = await organizationStatuses(db, { organizationId, limit: 1 });
  return organizations[0];
}

export interface PollStatus {
  cursor: string;
  /** The last time the poller stored a page or found nothing new. */
  polledAt: Date;
  newestEventAt: Date | null;
}

/** Where each Events API reader stands; polling is global, not per organization. */
export async function pollStatuses(db: Executor): Promise<PollStatus[]> {
  const rows = await db
    .selectFrom('poll_cursors')
    .select(['name', 'polled_at', 'newest_event_at'])
    .orderBy('name')
    .execute();
  return rows.map((r) => ({
    cursor: r.name,
    polledAt: r.polled_at,
    newestEventAt: r.newest_event_at,
  }));
}
