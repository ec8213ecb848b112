// The tables of the contract with the application (docs/ARCHITECTURE.md), and the indexes of
// the hot paths: the drain reads pending inbox rows of one org in order; users and
// groups are found by their directory ids; sessions by user.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table organizations (
      id text primary key,
      deprovision_policy text not null default 'soft' check (deprovision_policy in ('soft', 'hard')),
      paused_at timestamptz,
      last_applied_event_id text,
      last_applied_at timestamptz,
      last_reconciled_at timestamptz,
      created_at timestamptz not null default now()
    );

    create table directories (
      id text primary key,
      organization_id text not null,
      state text not null,
      type text,
      name text,
      source_updated_at timestamptz not null,
      source_event_at timestamptz not null,
      source_event_id text not null,
      deleted_at timestamptz,
      created_at timestamptz not null default now()
    );
    create index directories_organization_idx on directories (organization_id);

    create table users (
      id uuid primary key default gen_random_uuid(),
      directory_user_id text not null unique,
      organization_id text not null,
      directory_id text not null,
      idp_id text,
      email text,
      first_name text,
      last_name text,
      state text not null,
      role text,
      roles text[] not null default '{}',
      custom_attributes jsonb not null default '{}',
      memberships_ended_at timestamptz,
      memberships_ended_by text,
      source_updated_at timestamptz not null,
      source_event_at timestamptz not null,
      source_event_id text not null,
      deleted_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index users_organization_idx on users (organization_id);
    create index users_directory_idx on users (directory_id);

    create table groups (
      id uuid primary key default gen_random_uuid(),
      directory_group_id text not null unique,
      organization_id text not null,
      directory_id text not null,
      idp_id text,
      name text,
      grants_role text,
      memberships_ended_at timestamptz,
      memberships_ended_by text,
      source_updated_at timestamptz not null,
      source_event_at timestamptz not null,
      source_event_id text not null,
      deleted_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index groups_organization_idx on groups (organization_id);
    create index groups_directory_idx on groups (directory_id);

    create table group_memberships (
      group_id uuid not null references groups (id) on delete cascade,
      user_id uuid not null references users (id) on delete cascade,
      organization_id text not null,
      source_event_at timestamptz not null,
      source_event_id text not null,
      removed_at timestamptz,
      primary key (group_id, user_id)
    );
    create index group_memberships_user_idx on group_memberships (user_id);

    create table sessions (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      created_at timestamptz not null default now(),
      expires_at timestamptz,
      revoked_at timestamptz,
      revoked_reason text
    );
    create index sessions_active_user_idx on sessions (user_id) where revoked_at is null;

    create table audit_log (
      id bigint generated always as identity primary key,
      event_id text not null,
      organization_id text not null,
      action text not null,
      subject_type text not null,
      subject_id text not null,
      detail jsonb not null default '{}',
      at timestamptz not null default now()
    );
    -- One row per change of an event: applying an event twice cannot write twice.
    create unique index audit_log_event_change_idx on audit_log (event_id, action, subject_id);
    create index audit_log_organization_at_idx on audit_log (organization_id, at);

    create table inbox (
      event_id text primary key,
      organization_id text,
      event_type text not null,
      occurred_at timestamptz not null,
      source text not null check (source in ('webhook', 'events_api', 'reconcile', 'replay')),
      payload json not null,
      status text not null check (status in ('pending', 'applied', 'ignored', 'dead')),
      attempts integer not null default 0,
      last_error text,
      received_at timestamptz not null default now(),
      applied_at timestamptz
    );
    create index inbox_pending_idx on inbox (organization_id, occurred_at, event_id)
      where status = 'pending';
    create index inbox_dead_idx on inbox (organization_id, occurred_at) where status = 'dead';
    create index inbox_organization_received_idx on inbox (organization_id, received_at);

    create table poll_cursors (
      name text primary key,
      cursor text,
      newest_event_at timestamptz,
      polled_at timestamptz not null default now()
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop table if exists poll_cursors;
    drop table if exists inbox;
    drop table if exists audit_log;
    drop table if exists sessions;
    drop table if exists group_memberships;
    drop table if exists groups;
    drop table if exists users;
    drop table if exists directories;
    drop table if exists organizations;
  `.execute(db);
}
