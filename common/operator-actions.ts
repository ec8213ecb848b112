// What an operator can do to an organization, shared by the admin API and the
// command line so both check and answer the same way: replay one event or every
// dead event of an organization, pause and resume it. Each action and its audit row
// (who did it: deps.actor) commit together. Postgres changes first; the drain
// trigger after is only a nudge: if Redis is down the sweeper re-triggers any
// organization with pending events, so a failed trigger is reported, not fatal. A
// paused organization is not triggered: its events wait for the resume, and the
// answer says so (`paused: true`).
import type { Database, Executor } from '../db/database.ts';
import { type Actor, recordOperatorAction } from '../db/repositories/audit.repository.ts';
import {
  type DeadEvent,
  findEvent,
  listDeadEvents,
  replayDeadEvents,
  replayEvent,
} from '../db/repositories/inbox.repository.ts';
import {
  findOrganization,
  organizationExists,
  pauseOrganization,
  resumeOrganization,
} from '../db/repositories/organizations.repository.ts';
import type { InboxStatus } from '../db/tables/inbox.table.ts';
import type { Organization } from '../db/tables/organizations.table.ts';
import { toError, withTimeout } from './errors.ts';

export type { Actor } from '../db/repositories/audit.repository.ts';

export type OperatorErrorCode =
  | 'unknown_organization'
  | 'unknown_event'
  | 'unknown_directory'
  | 'not_replayable';

/** An action refused because its target does not exist or cannot take it. */
export class OperatorError extends Error {
  override name = 'OperatorError';
  readonly code: OperatorErrorCode;
  constructor(code: OperatorErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface OperatorDeps {
  db: Database;
  /** Who acts, for the audit log. */
  actor: Actor;
  /** Enqueues "drain organization X". */
  triggerDrain(organizationId: string): Promise<void>;
  /** Told when a trigger failed (the sweeper will catch up). */
  onTriggerError?(err: Error, organizationId: string): void;
}

export interface Triggered {
  /** Whether the drain trigger was enqueued; false: paused, or the sweeper will pick it up. */
  triggered: boolean;
  /** The organization is paused: its events wait until it is resumed. */
  paused: boolean;
}

// BullMQ waits for an unreachable Redis without end; an operator should not.
const TRIGGER_TIMEOUT_MS = 2_000;

async function nudge(deps: OperatorDeps, organizationId: string): Promise<boolean> {
  try {
    await withTimeout(deps.triggerDrain(organizationId), TRIGGER_TIMEOUT_MS, 'drain trigger');
    return true;
  } catch (err) {
    deps.onTriggerError?.(toError(err), organizationId);
    return false;
  }
}

export async function assertOrganizationExists(
  db: Executor,
  organizationId: string,
): Promise<void> {
  if (!(await organizationExists(db, organizationId))) {
    throw new OperatorError('unknown_organization', `unknown organization ${organizationId}`);
  }
}

export interface ReplayedEvent extends Triggered {
  eventId: string;
  organizationId: string;
  eventType: string;
  previousStatus: InboxStatus;
}

/** Triggers a drain of what was replayed, unless the organization is paused. */
async function drainUnlessPaused(deps: OperatorDeps, organizationId: string): Promise<Triggered> {
  const organization = await findOrganization(deps.db, organizationId);
  if (organization?.paused_at) return { triggered: false, paused: true };
  return { triggered: await nudge(deps, organizationId), paused: false };
}

/** Puts one event back in its organization's queue (idempotent if it was applied). */
export async function replayOneEvent(deps: OperatorDeps, eventId: string): Promise<ReplayedEvent> {
  const found = await findEvent(deps.db, eventId);
  if (!found) throw new OperatorError('unknown_event', `unknown event ${eventId}`);
  const row = await deps.db.transaction().execute(async (trx) => {
    const replayed = await replayEvent(trx, eventId);
    if (replayed?.organization_id) {
      await recordOperatorAction(trx, deps.actor, {
        action: 'event_replayed',
        organizationId: replayed.organization_id,
        subjectType: 'event',
        subjectId: eventId,
        detail: { previousStatus: found.status },
      });
    }
    return replayed;
  });
  if (!row?.organization_id) {
    throw new OperatorError(
      'not_replayable',
      `event ${eventId} was ${found.status === 'ignored' ? 'ignored' : 'stored without an organization'}; there is nothing to replay`,
    );
  }
  return {
    eventId,
    organizationId: row.organization_id,
    eventType: row.event_type,
    previousStatus: found.status,
    ...(await drainUnlessPaused(deps, row.organization_id)),
  };
}

export interface ReplayedDeadEvents extends Triggered {
  organizationId: string;
  eventIds: string[];
}

export async function replayDeadEventsOf(
  deps: OperatorDeps,
  organizationId: string,
): Promise<ReplayedDeadEvents> {
  await assertOrganizationExists(deps.db, organizationId);
  const eventIds = await deps.db.transaction().execute(async (trx) => {
    const ids = await replayDeadEvents(trx, organizationId);
    if (ids.length > 0) {
      await recordOperatorAction(trx, deps.actor, {
        action: 'dead_events_replayed',
        organizationId,
        subjectType: 'organization',
        subjectId: organizationId,
        detail: { events: ids.length, eventIds: ids.slice(0, 100) },
      });
    }
    return ids;
  });
  if (eventIds.length === 0) {
    const organization = await findOrganization(deps.db, organizationId);
    return { organizationId, eventIds, triggered: false, paused: Boolean(organization?.paused_at) };
  }
  return { organizationId, eventIds, ...(await drainUnlessPaused(deps, organizationId)) };
}

/** An organization as the operator commands and the admin API answer with it. */
export interface OrganizationState {
  organizationId: string;
  paused: boolean;
  pausedAt: Date | null;
  deprovisionPolicy: string;
}

function organizationState(o: Organization): OrganizationState {
  return {
    organizationId: o.id,
    paused: o.paused_at !== null,
    pausedAt: o.paused_at,
    deprovisionPolicy: o.deprovision_policy,
  };
}

export async function pause(
  deps: OperatorDeps,
  organizationId: string,
): Promise<OrganizationState> {
  await assertOrganizationExists(deps.db, organizationId);
  return deps.db.transaction().execute(async (trx) => {
    const organization = await pauseOrganization(trx, organizationId);
    await recordOperatorAction(trx, deps.actor, {
      action: 'organization_paused',
      organizationId,
      subjectType: 'organization',
      subjectId: organizationId,
    });
    return organizationState(organization);
  });
}

/** Resumes draining and triggers a drain for what waited meanwhile. */
export async function resume(
  deps: OperatorDeps,
  organizationId: string,
): Promise<OrganizationState & { triggered: boolean }> {
  await assertOrganizationExists(deps.db, organizationId);
  const organization = await deps.db.transaction().execute(async (trx) => {
    const resumed = await resumeOrganization(trx, organizationId);
    await recordOperatorAction(trx, deps.actor, {
      action: 'organization_resumed',
      organizationId,
      subjectType: 'organization',
      subjectId: organizationId,
    });
    return resumed;
  });
  return { ...organizationState(organization), triggered: await nudge(deps, organizationId) };
}

/** A dead event as the operator commands and the admin API list it (camelCase). */
export interface DeadEventView {
  eventId: string;
  organizationId: string | null;
  eventType: string;
  occurredAt: Date;
  receivedAt: Date;
  attempts: number;
  lastError: string | null;
}

export async function deadEvents(
  db: Executor,
  options: { organizationId?: string; limit?: number },
): Promise<DeadEventView[]> {
  const rows: DeadEvent[] = await listDeadEvents(db, options);
  return rows.map((e) => ({
    eventId: e.event_id,
    organizationId: e.organization_id,
    eventType: e.event_type,
    occurredAt: e.occurred_at,
    receivedAt: e.received_at,
    attempts: e.attempts,
    lastError: e.last_error,
  }));
}
