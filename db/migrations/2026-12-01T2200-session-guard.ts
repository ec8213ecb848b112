// No live session for a user who is not active. The worker revokes every session of a
// user it deprovisions, in the transaction that deactivates them; this guard closes
// the other side: an application instance that read the user as active a moment
// earlier and inserts a session after that commit (or during it) is refused.
//
// The trigger takes a share lock on the user's row. The worker's deactivation holds
// that row locked until it commits, so an insert either commits first (and the
// worker's revocation, a later statement, sees and revokes it) or waits and then
// sees the user inactive.
//
// The function runs with its owner's rights (security definer, search_path pinned):
// a share lock needs more than the read access an application role has on users.
// Its refusal has a SQLSTATE of its own, DS001, so an application tells "this user
// is deprovisioned" from a missing privilege (42501).
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function refuse_session_of_inactive_user() returns trigger
    language plpgsql
    security definer
    set search_path from current
    as $$
    declare
      active boolean;
    begin
      select u.state = 'active' and u.deleted_at is null into active
        from users u where u.id = new.user_id for share;
      if active is distinct from true then
        raise exception 'user % is deprovisioned: no session can be created for it', new.user_id
          using errcode = 'DS001',
                hint = 'dirsync deactivated this user; a session must not outlive deprovisioning';
      end if;
      return new;
    end $$;

    create trigger sessions_refuse_inactive_user
      before insert or update of user_id, revoked_at on sessions
      for each row when (new.revoked_at is null)
      execute function refuse_session_of_inactive_user();
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop trigger if exists sessions_refuse_inactive_user on sessions;
    drop function if exists refuse_session_of_inactive_user();
  `.execute(db);
}
