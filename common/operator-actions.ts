// What an operator can do to an organization, shared by the admin API and the
// command line so both check and answer the same way: replay one event or every
// dead event of an organization, pause and resume it. Postgres changes first; the
// drain trigger after is only a nudge: if Redis is down the sweeper re-triggers any
// organization with pending events, so a failed trigger is reported, not fatal.
import type { Executor } from '../db/database.ts';
import { findEvent, replayDeadEvents, replayEvent } from '../db/repositories/inbox.repository.ts';
import {
  organizationExists,
  pauseOrganization,
  resumeOrganization,
} from '../db/repositories/organizations.repository.ts';
import type { InboxStatus } from '../db/tables/inbox.table.ts';
import type { Organization } from '../db/tables/organizations.table.ts';
import { toError, withTimeout } from './errors.ts';

export type OperatorErrorCode = 'unknown_organization' | 'unknown_event' | 'not_replayable';

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
  db: Executor;
  /** Enqueues "drain organization X". */
  triggerDrain(organizationId: string): Promise<void>;
  /** Told when a trigger failed (the sweeper will catch up). */
  onTriggerError?(err: Error, organizationId: string): void;
}

export interface Triggered {
  /** Whether the drain trigger was enqueued; false: the sweeper will pick it up. */
  triggered: boolean;
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

/** Puts one event back in its organization's queue (idempotent if it was applied). */
export async function replayOneEvent(deps: OperatorDeps, eventId: string): Promise<ReplayedEvent> {
  const found = await findEvent(deps.db, eventId);
  if (!found) throw new OperatorError('unknown_event', `unknown event ${eventId}`);
  const row = await replayEvent(deps.db, eventId);
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
    triggered: await nudge(deps, row.organization_id),
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
  const eventIds = await replayDeadEvents(deps.db, organizationId);
  const triggered = eventIds.length > 0 ? await nudge(deps, organizationId) : false;
  return { organizationId, eventIds, triggered };
}

export async function pause(deps: OperatorDeps, organizationId: string): Promise<Organization> {
  await assertOrganizationExists(deps.db, organizationId);
  return pauseOrganization(deps.db, organizationId);
}

/** Resumes draining and triggers a drain for what waited meanwhile. */
export async function resume(
  deps: OperatorDeps,
  organizationId: string,
): Promise<Organization & Triggered> {
  await assertOrganizationExists(deps.db, organizationId);
  const organization = await resumeOrganization(deps.db, organizationId);
  return { ...organization, triggered: await nudge(deps, organizationId) };
}
