// SCIM 2.0 service provider storage. The contract tables (users, groups,
// group_memberships, directories) stay the applied projection, written only by the
// drain; these tables are what the SCIM protocol itself needs: the directories an
// identity provider pushes to and their bearer tokens (hashes only), and the
// resources as the identity provider stored them (every attribute, for GET), with a
// case-insensitive unique userName per directory. Group members are one row per
// (group, user), so adding or removing one never reads or rewrites the whole list.
// The inbox accepts `source = 'scim'`, and audit rows of SCIM events name their
// directory as the actor.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table inbox drop constraint if exists inbox_source_check;
    alter table inbox add constraint inbox_source_check
      check (source in ('webhook', 'events_api', 'reconcile', 'replay', 'scim'));

    create table scim_directories (
      id text primary key,
      organization_id text not null,
      name text,
      created_at timestamptz not null default now(),
      deleted_at timestamptz
    );
    create index scim_directories_organization_idx on scim_directories (organization_id);

    create table scim_tokens (
      id bigint generated always as identity primary key,
      directory_id text not null references scim_directories (id) on delete cascade,
      -- sha256 of the token; the token itself is shown once and never stored.
      token_hash bytea not null unique,
      created_at timestamptz not null default now(),
      -- Set by a rotation (now + SCIM_TOKEN_GRACE_MS); null: valid.
      expires_at timestamptz
    );
    create index scim_tokens_directory_idx on scim_tokens (directory_id);

    create table scim_users (
      directory_id text not null references scim_directories (id) on delete cascade,
      id text not null,
      user_name text not null,
      external_id text,
      active boolean not null,
      -- Every attribute the identity provider stored (no id, meta or password).
      attributes jsonb not null,
      created_at timestamptz not null,
      last_modified timestamptz not null,
      primary key (directory_id, id)
    );
    create unique index scim_users_user_name_idx on scim_users (directory_id, lower(user_name));
    create index scim_users_external_id_idx on scim_users (directory_id, external_id);

    create table scim_groups (
      directory_id text not null references scim_directories (id) on delete cascade,
      id text not null,
      display_name text not null,
      external_id text,
      attributes jsonb not null,
      created_at timestamptz not null,
      last_modified timestamptz not null,
      primary key (directory_id, id)
    );
    create index scim_groups_display_name_idx on scim_groups (directory_id, lower(display_name));

    create table scim_group_members (
      directory_id text not null,
      group_id text not null,
      user_id text not null,
      primary key (directory_id, group_id, user_id),
      foreign key (directory_id, group_id) references scim_groups (directory_id, id) on delete cascade,
      foreign key (directory_id, user_id) references scim_users (directory_id, id) on delete cascade
    );
    create index scim_group_members_user_idx on scim_group_members (directory_id, user_id);

    alter table audit_log add column actor text;

    -- SCIM event ids start with 'scim_': their audit rows name the SCIM directory
    -- (the event's data.directory_id, or data.id for a directory event). The WHEN
    -- clause keeps every other audit insert free of the lookup.
    create function audit_log_scim_actor() returns trigger language plpgsql as $$
    begin
      if new.actor is null then
        select 'scim:' || coalesce(i.payload -> 'data' ->> 'directory_id', i.payload -> 'data' ->> 'id')
          into new.actor
          from inbox i where i.event_id = new.event_id;
      end if;
      return new;
    end $$;
    create trigger audit_log_scim_actor before insert on audit_log
      for each row when (new.event_id like 'scim\\_%')
      execute function audit_log_scim_actor();
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop trigger if exists audit_log_scim_actor on audit_log;
    drop function if exists audit_log_scim_actor();
    alter table audit_log drop column if exists actor;
    drop table if exists scim_group_members;
    drop table if exists scim_groups;
    drop table if exists scim_users;
    drop table if exists scim_tokens;
    drop table if exists scim_directories;
    alter table inbox drop constraint if exists inbox_source_check;
    alter table inbox add constraint inbox_source_check
      check (source in ('webhook', 'events_api', 'reconcile', 'replay'));
  `.execute(db);
}
