// What operators did, in the audit log beside what the events changed: who (the
// operator's name: a named admin credential, or the OS user or --actor of the
// command line), through what (`admin_api` or `cli`), what, to which organization.
// These rows name no event: their event_id is `operator_<uuid>`, unique like an
// event's, so the log's one-row-per-change index holds for them too.
import { randomUUID } from 'node:crypto';
import type { Executor } from '../database.ts';
import type { OperatorAuditAction } from '../tables/audit-log.table.ts';

/** Who did an operator action, and through which surface. */
export interface Actor {
  name: string;
  via: 'admin_api' | 'cli';
}

export interface OperatorAuditEntry {
  action: OperatorAuditAction;
  organizationId: string;
  subjectType: 'organization' | 'event' | 'directory' | 'token';
  subjectId: string;
  /** Ids, counts and flags only: never personal data. */
  detail?: Record<string, unknown>;
}

/** Writes one audit row for an operator action (in the action's transaction, if any). */
export async function recordOperatorAction(
  db: Executor,
  actor: Actor,
  entry: OperatorAuditEntry,
): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      event_id: `operator_${randomUUID()}`,
      organization_id: entry.organizationId,
      action: entry.action,
      subject_type: entry.subjectType,
      subject_id: entry.subjectId,
      detail: JSON.stringify({ actor: actor.name, via: actor.via, ...entry.detail }),
    })
    .execute();
}

export interface OperatorAuditRow {
  at: Date;
  action: string;
  organizationId: string;
  subjectId: string;
  actor: string;
  via: string;
}

/** The latest operator actions, newest first (optionally of one organization). */
export async function recentOperatorActions(
  db: Executor,
  options: { organizationId?: string; limit: number },
): Promise<OperatorAuditRow[]> {
  let query = db
    .selectFrom('audit_log')
    .select(['at', 'action', 'organization_id', 'subject_id', 'detail'])
    .where('event_id', 'like', 'operator\\_%')
    .orderBy('at', 'desc')
    .limit(options.limit);
  if (options.organizationId) query = query.where('organization_id', '=', options.organizationId);
  const rows = await query.execute();
  return rows.map((r) => ({
    at: r.at,
    action: r.action,
    organizationId: r.organization_id,
    subjectId: r.subject_id,
    actor: String(r.detail.actor ?? ''),
    via: String(r.detail.via ?? ''),
  }));
}
