// The audit log: one row per applied change, appended in the transaction that makes
// the change. Rows are never updated; writing one twice (a batch applied again) is a
// no-op.
import type { Executor } from '../database.ts';
import type { AuditLogTable } from '../tables/audit-log.table.ts';
import { type Column, col, upsertUnnest } from '../unnest-upsert.ts';

/** An audit row as the drain writes it (`detail` already JSON). */
export interface NewAuditRow {
  event_id: string;
  organization_id: string;
  action: AuditLogTable['action'];
  subject_type: AuditLogTable['subject_type'];
  subject_id: string;
  detail: string;
}

const columns: Column<NewAuditRow>[] = [
  col('event_id', 'text', (a) => a.event_id),
  col('organization_id', 'text', (a) => a.organization_id),
  col('action', 'text', (a) => a.action),
  col('subject_type', 'text', (a) => a.subject_type),
  col('subject_id', 'text', (a) => a.subject_id),
  col('detail', 'jsonb', (a) => a.detail),
];

export async function appendAuditRows(db: Executor, rows: readonly NewAuditRow[]): Promise<void> {
  await upsertUnnest(db, 'audit_log', columns, rows, 'do nothing');
}
