// Every migration, by name. Names sort by time; Kysely applies them in that order.
import type { Migration } from 'kysely';
import * as initial from './2026-11-22T0800-initial.ts';
import * as sessionGuard from './2026-12-01T2200-session-guard.ts';
import * as inboxRetention from './2026-12-01T2210-inbox-retention.ts';
import * as inboxAlterations from './2026-12-02T1600-inbox-alterations.ts';
import * as revocationOutbox from './2026-12-02T1630-revocation-outbox.ts';
import * as auditRevocations from './2026-12-02T1700-audit-revocations.ts';
import * as scim from './2026-12-02T1800-scim.ts';
import * as taskLeases from './2026-12-02T1810-task-leases.ts';

export const migrations: Record<string, Migration> = {
  '2026-11-22T0800-initial': initial,
  '2026-12-01T2200-session-guard': sessionGuard,
  '2026-12-01T2210-inbox-retention': inboxRetention,
  '2026-12-02T1600-inbox-alterations': inboxAlterations,
  '2026-12-02T1630-revocation-outbox': revocationOutbox,
  '2026-12-02T1700-audit-revocations': auditRevocations,
  '2026-12-02T1800-scim': scim,
  '2026-12-02T1810-task-leases': taskLeases,
};
