/**
 * Who runs a task that must run once at a time across all processes (the poll, a
 * reconciliation), until when. A row lock would hold a connection (and, behind a
 * transaction pooler, a server connection) for the whole task; a lease holds none.
 */
export interface TaskLeasesTable {
  name: string;
  holder: string;
  expires_at: Date;
}
