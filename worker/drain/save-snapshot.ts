// Writes a snapshot's changed rows back: one multi-row upsert per table and chunk.
// Parents before children (users and groups before memberships). Columns the
// application owns (groups.grants_role) are never overwritten.
import type { Transaction } from '../../db/database.ts';
import type { Snapshot } from '../apply/snapshot.ts';

const CHUNK = 1000;

export function* chunks<T>(items: readonly T[], size = CHUNK): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

export async function saveSnapshot(trx: Transaction, snapshot: Snapshot): Promise<void> {
  const directories = [...snapshot.dirty.directories].map((id) => snapshot.directories.get(id)!);
  for (const rows of chunks(directories)) {
    await trx
      .insertInto('directories')
      .values(rows)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          organization_id: eb.ref('excluded.organization_id'),
          state: eb.ref('excluded.state'),
          type: eb.ref('excluded.type'),
          name: eb.ref('excluded.name'),
          source_updated_at: eb.ref('excluded.source_updated_at'),
          source_event_at: eb.ref('excluded.source_event_at'),
          source_event_id: eb.ref('excluded.source_event_id'),
          deleted_at: eb.ref('excluded.deleted_at'),
        })),
      )
      .execute();
  }

  const users = [...snapshot.dirty.users].map((id) => snapshot.users.get(id)!);
  for (const rows of chunks(users)) {
    await trx
      .insertInto('users')
      .values(rows.map((u) => ({ ...u, custom_attributes: JSON.stringify(u.custom_attributes) })))
      .onConflict((oc) =>
        oc.column('directory_user_id').doUpdateSet((eb) => ({
          organization_id: eb.ref('excluded.organization_id'),
          directory_id: eb.ref('excluded.directory_id'),
          idp_id: eb.ref('excluded.idp_id'),
          email: eb.ref('excluded.email'),
          first_name: eb.ref('excluded.first_name'),
          last_name: eb.ref('excluded.last_name'),
          state: eb.ref('excluded.state'),
          role: eb.ref('excluded.role'),
          roles: eb.ref('excluded.roles'),
          custom_attributes: eb.ref('excluded.custom_attributes'),
          memberships_ended_at: eb.ref('excluded.memberships_ended_at'),
          memberships_ended_by: eb.ref('excluded.memberships_ended_by'),
          source_updated_at: eb.ref('excluded.source_updated_at'),
          source_event_at: eb.ref('excluded.source_event_at'),
          source_event_id: eb.ref('excluded.source_event_id'),
          deleted_at: eb.ref('excluded.deleted_at'),
          updated_at: eb.fn('now'),
        })),
      )
      .execute();
  }

  const groups = [...snapshot.dirty.groups].map((id) => snapshot.groups.get(id)!);
  for (const rows of chunks(groups)) {
    await trx
      .insertInto('groups')
      .values(rows)
      .onConflict((oc) =>
        oc.column('directory_group_id').doUpdateSet((eb) => ({
          organization_id: eb.ref('excluded.organization_id'),
          directory_id: eb.ref('excluded.directory_id'),
          idp_id: eb.ref('excluded.idp_id'),
          name: eb.ref('excluded.name'),
          memberships_ended_at: eb.ref('excluded.memberships_ended_at'),
          memberships_ended_by: eb.ref('excluded.memberships_ended_by'),
          source_updated_at: eb.ref('excluded.source_updated_at'),
          source_event_at: eb.ref('excluded.source_event_at'),
          source_event_id: eb.ref('excluded.source_event_id'),
          deleted_at: eb.ref('excluded.deleted_at'),
          updated_at: eb.fn('now'),
        })),
      )
      .execute();
  }

  const memberships = [...snapshot.dirty.memberships].map((key) => snapshot.memberships.get(key)!);
  for (const rows of chunks(memberships)) {
    await trx
      .insertInto('group_memberships')
      .values(rows)
      .onConflict((oc) =>
        oc.columns(['group_id', 'user_id']).doUpdateSet((eb) => ({
          source_event_at: eb.ref('excluded.source_event_at'),
          source_event_id: eb.ref('excluded.source_event_id'),
          removed_at: eb.ref('excluded.removed_at'),
        })),
      )
      .execute();
  }
}
