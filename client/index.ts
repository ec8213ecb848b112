// dirsync/client: what an application needs to rely on dirsync's revocations.
// - The Kysely table types of the contract (the tables the application reads).
// - isSessionActive(db, sessionId): the source of truth, in Postgres.
// - listenForRevocations(): follows the revocation stream, catching up after a
//   disconnection or a restart, so a cache of session validity drops what dirsync
//   revoked.
// - The revocation message (version 1) and the stream/channel name.
import type { AuditLogTable } from '../db/tables/audit-log.table.ts';
import type { DirectoriesTable } from '../db/tables/directories.table.ts';
import type { GroupMembershipsTable } from '../db/tables/group-memberships.table.ts';
import type { GroupsTable } from '../db/tables/groups.table.ts';
import type { InboxTable } from '../db/tables/inbox.table.ts';
import type { OrganizationsTable } from '../db/tables/organizations.table.ts';
import type { SessionsTable } from '../db/tables/sessions.table.ts';
import type { UsersTable } from '../db/tables/users.table.ts';

/** dirsync's tables as the application reads them (in DATABASE_SCHEMA, `dirsync` by default). */
export interface DirsyncDatabase {
  organizations: OrganizationsTable;
  directories: DirectoriesTable;
  users: UsersTable;
  groups: GroupsTable;
  group_memberships: GroupMembershipsTable;
  sessions: SessionsTable;
  audit_log: AuditLogTable;
  inbox: InboxTable;
}

export {
  parseRevocationMessage,
  type RevocationMessage,
  sessionsRevokedKey,
} from '../common/revocation-message.ts';
export {
  isSessionActive,
  type SessionCheckOptions,
} from '../db/repositories/session-validity.repository.ts';
export type { AuditLogTable } from '../db/tables/audit-log.table.ts';
export type { DirectoriesTable } from '../db/tables/directories.table.ts';
export type { GroupMembershipsTable } from '../db/tables/group-memberships.table.ts';
export type { GroupsTable } from '../db/tables/groups.table.ts';
export type { InboxTable } from '../db/tables/inbox.table.ts';
export type { OrganizationsTable } from '../db/tables/organizations.table.ts';
export type { SessionsTable } from '../db/tables/sessions.table.ts';
export type { UsersTable } from '../db/tables/users.table.ts';
export {
  compareStreamIds,
  listenForRevocations,
  type RevocationListener,
  type RevocationListenerOptions,
  type StartFrom,
} from './revocation-listener.ts';
