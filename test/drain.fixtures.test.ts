// Every directory event type from the recorded fixtures, applied in the order WorkOS
// sent them, with the exact rows each one leaves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../common/logger.ts';
import type { Resources } from '../common/resources.ts';
import { sessionsRevokedKey } from '../common/revocation-message.ts';
import { drainOrganization } from '../worker/drain/drain-organization.ts';
import { relayOnce } from '../worker/relay/revocation-relay.ts';
import { useTestContext } from './support/context.ts';
import {
  FIXTURE_DIRECTORY,
  FIXTURE_GROUP,
  FIXTURE_ORG,
  FIXTURE_USER,
  fixture,
  storeEvents,
} from './support/events.ts';

const ctx = useTestContext('drain_fixtures');
const log = createLogger({ LOG_LEVEL: 'silent' });
let resources: Resources;

beforeAll(() => {
  resources = ctx.openResources();
});
afterAll(async () => {
  await resources.close();
});

async function apply(type: Parameters<typeof fixture>[0]) {
  await storeEvents(ctx.db, [fixture(type)]);
  return drainOrganization(resources, FIXTURE_ORG, { log });
}

const user = () =>
  ctx.db
    .selectFrom('users')
    .selectAll()
    .where('directory_user_id', '=', FIXTURE_USER)
    .executeTakeFirstOrThrow();
const group = () =>
  ctx.db
    .selectFrom('groups')
    .selectAll()
    .where('directory_group_id', '=', FIXTURE_GROUP)
    .executeTakeFirstOrThrow();
const audit = (eventId: string) =>
  ctx.db
    .selectFrom('audit_log')
    .select(['action', 'subject_type', 'detail'])
    .where('event_id', '=', eventId)
    .orderBy('id')
    .execute();
const inbox = (eventId: string) =>
  ctx.db.selectFrom('inbox').selectAll().where('event_id', '=', eventId).executeTakeFirstOrThrow();

describe('drain: the recorded fixtures, in order', () => {
  it('dsync.activated records the directory and the organization', async () => {
    expect(await apply('dsync.activated')).toMatchObject({ applied: 1, dead: 0 });
    const directory = await ctx.db.selectFrom('directories').selectAll().executeTakeFirstOrThrow();
    expect(directory).toMatchObject({
      id: FIXTURE_DIRECTORY,
      organization_id: FIXTURE_ORG,
      state: 'active',
      type: 'okta scim v2.0',
      name: "Acme Corp's Directory",
      deleted_at: null,
    });
    expect(directory.source_updated_at.toISOString()).toBe('2026-09-01T14:00:02.877Z');
    const org = await ctx.db.selectFrom('organizations').selectAll().executeTakeFirstOrThrow();
    expect(org).toMatchObject({ id: FIXTURE_ORG, deprovision_policy: 'soft', paused_at: null });
    expect(org.last_applied_event_id).toBe(fixture('dsync.activated').id);
    expect(await inbox(fixture('dsync.activated').id)).toMatchObject({
      status: 'applied',
      attempts: 1,
    });
    expect(await audit(fixture('dsync.activated').id)).toEqual([
      {
        action: 'directory_activated',
        subject_type: 'directory',
        detail: { state: 'active', type: 'okta scim v2.0' },
      },
    ]);
  });

  it('dsync.user.created provisions the user with role and attributes', async () => {
    await apply('dsync.user.created');
    const u = await user();
    expect(u).toMatchObject({
      directory_user_id: FIXTURE_USER,
      organization_id: FIXTURE_ORG,
      directory_id: FIXTURE_DIRECTORY,
      idp_id: '00u1e8mutl6wlH3lL4x7',
      email: 'marcelina.davis@acme-corp.com',
      first_name: 'Marcelina',
      last_name: 'Davis',
      state: 'active',
      role: 'member',
      roles: ['member'],
      custom_attributes: { department: 'Engineering', job_title: 'Software Engineer' },
      deleted_at: null,
      source_event_id: fixture('dsync.user.created').id,
    });
    expect(u.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await audit(fixture('dsync.user.created').id)).toEqual([
      {
        action: 'user_provisioned',
        subject_type: 'user',
        detail: { directory_user_id: FIXTURE_USER, state: 'active', role: 'member' },
      },
    ]);
  });

  it('dsync.group.created creates the group', async () => {
    await apply('dsync.group.created');
    expect(await group()).toMatchObject({
      name: 'Engineering',
      directory_id: FIXTURE_DIRECTORY,
      deleted_at: null,
    });
  });

  it('dsync.group.user_added adds the membership', async () => {
    await apply('dsync.group.user_added');
    const [u, g] = [await user(), await group()];
    const m = await ctx.db.selectFrom('group_memberships').selectAll().executeTakeFirstOrThrow();
    expect(m).toMatchObject({
      group_id: g.id,
      user_id: u.id,
      organization_id: FIXTURE_ORG,
      removed_at: null,
    });
    expect((await audit(fixture('dsync.group.user_added').id)).map((a) => a.action)).toEqual([
      'membership_added',
    ]);
  });

  it('dsync.user.updated changes names, role and attributes, and audits what changed', async () => {
    await apply('dsync.user.updated');
    expect(await user()).toMatchObject({
      last_name: 'Davis-Okafor',
      role: 'admin',
      roles: ['admin'],
      custom_attributes: {
        department: 'Engineering',
        job_title: 'Staff Software Engineer',
        manager_email: 'li.wong@acme-corp.com',
      },
      state: 'active',
    });
    const [entry] = await audit(fixture('dsync.user.updated').id);
    expect(entry).toEqual({
      action: 'user_updated',
      subject_type: 'user',
      detail: {
        directory_user_id: FIXTURE_USER,
        changed: ['last_name', 'role', 'roles', 'custom_attributes'],
        role: { from: 'member', to: 'admin' },
      },
    });
  });

  it('dsync.group.updated renames the group', async () => {
    await apply('dsync.group.updated');
    expect(await group()).toMatchObject({ name: 'Platform Engineering' });
  });

  it('dsync.group.user_removed ends the membership', async () => {
    await apply('dsync.group.user_removed');
    const m = await ctx.db.selectFrom('group_memberships').selectAll().executeTakeFirstOrThrow();
    expect(m.removed_at?.toISOString()).toBe('2026-09-17T15:09:27.742Z');
    expect((await audit(fixture('dsync.group.user_removed').id)).map((a) => a.action)).toEqual([
      'membership_removed',
    ]);
  });

  it('dsync.user.deleted deprovisions: deactivated, every session revoked, one message relayed', async () => {
    const u = await user();
    const sessions = await ctx.db
      .insertInto('sessions')
      .values([{ user_id: u.id }, { user_id: u.id }])
      .returning('id')
      .execute();
    const subscriber = ctx.redis();
    const messages: unknown[] = [];
    await subscriber.subscribe(sessionsRevokedKey(ctx.config.REDIS_PREFIX));
    subscriber.on('message', (_channel, message) => messages.push(JSON.parse(message)));
    try {
      await apply('dsync.user.deleted');
      const after = await user();
      expect(after).toMatchObject({ state: 'inactive', email: 'marcelina.davis@acme-corp.com' });
      expect(after.deleted_at?.toISOString()).toBe('2026-09-18T08:30:12.007Z');
      const revoked = await ctx.db
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', u.id)
        .execute();
      expect(revoked.map((s) => s.revoked_reason)).toEqual(['user_deleted', 'user_deleted']);
      expect(revoked.every((s) => s.revoked_at !== null)).toBe(true);
      const actions = await audit(fixture('dsync.user.deleted').id);
      expect(actions).toEqual([
        {
          action: 'user_deprovisioned',
          subject_type: 'user',
          detail: {
            directory_user_id: FIXTURE_USER,
            reason: 'user_deleted',
            policy: 'soft',
            state: 'inactive',
          },
        },
        {
          action: 'sessions_revoked',
          subject_type: 'user',
          detail: {
            count: 2,
            reason: 'user_deleted',
            session_ids: expect.arrayContaining(sessions.map((s) => s.id)),
          },
        },
      ]);
      // The drain wrote the message to the outbox; the relay (not running here) sends it.
      expect(await relayOnce(resources)).toEqual({ kind: 'sent', count: 1, more: false });
      await expect
        .poll(() => messages)
        .toEqual([
          {
            v: 1,
            id: expect.stringMatching(/^\d+$/),
            userId: u.id,
            organizationId: FIXTURE_ORG,
            sessionIds: expect.arrayContaining(sessions.map((s) => s.id)),
            reason: 'user_deleted',
            eventId: fixture('dsync.user.deleted').id,
            revokedAt: expect.any(String),
          },
        ]);
    } finally {
      await subscriber.quit();
    }
  });

  it('a late dsync.user.updated cannot bring the deleted user back', async () => {
    await ctx.db
      .deleteFrom('inbox')
      .where('event_id', '=', fixture('dsync.user.updated').id)
      .execute();
    await apply('dsync.user.updated');
    expect(await user()).toMatchObject({ state: 'inactive', last_name: 'Davis' });
    expect((await user()).deleted_at).not.toBeNull();
    expect(await audit(fixture('dsync.user.updated').id)).toHaveLength(1); // only the first application's
  });

  it('dsync.group.deleted tombstones the group', async () => {
    await apply('dsync.group.deleted');
    const g = await group();
    expect(g.deleted_at?.toISOString()).toBe('2026-09-19T11:20:00.415Z');
    expect(g.memberships_ended_by).toBe(fixture('dsync.group.deleted').id);
    expect((await audit(fixture('dsync.group.deleted').id)).map((a) => a.action)).toEqual([
      'group_deleted',
    ]);
  });

  it('dsync.deleted tombstones the directory', async () => {
    await apply('dsync.deleted');
    const d = await ctx.db.selectFrom('directories').selectAll().executeTakeFirstOrThrow();
    expect(d.deleted_at?.toISOString()).toBe('2026-09-20T09:15:31.640Z');
    expect((await audit(fixture('dsync.deleted').id)).map((a) => a.action)).toEqual([
      'directory_deleted',
    ]);
  });

  it('token events are recorded as ignored and change nothing', async () => {
    const stored = await storeEvents(ctx.db, [
      fixture('dsync.token.created'),
      fixture('dsync.token.revoked'),
    ]);
    expect(stored.size).toBe(2);
    expect(await drainOrganization(resources, FIXTURE_ORG, { log })).toMatchObject({
      applied: 0,
      batches: 0,
    });
    expect((await inbox(fixture('dsync.token.created').id)).status).toBe('ignored');
  });
});
