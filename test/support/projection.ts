// The observable directory state of one organization, with the id prefix of a
// rendered history stripped, so two applications of one history can be compared.
import type { Snapshot } from '../../worker/apply/snapshot.ts';

export interface Projection {
  users: Record<
    string,
    {
      state: string;
      deleted: boolean;
      lastName: string | null;
      email: string | null;
      role: string | null;
    }
  >;
  groups: Record<string, { deleted: boolean; name: string | null }>;
  memberships: string[];
}

interface Rows {
  users: Array<{
    id: string;
    directory_user_id: string;
    state: string;
    deleted_at: Date | null;
    last_name: string | null;
    email: string | null;
    role: string | null;
  }>;
  groups: Array<{
    id: string;
    directory_group_id: string;
    name: string | null;
    deleted_at: Date | null;
  }>;
  memberships: Array<{ group_id: string; user_id: string; removed_at: Date | null }>;
}

export function project(rows: Rows, prefix: string): Projection {
  const strip = (id: string) => id.slice(prefix.length);
  const userKeys = new Map(rows.users.map((u) => [u.id, strip(u.directory_user_id)]));
  const groupKeys = new Map(rows.groups.map((g) => [g.id, strip(g.directory_group_id)]));
  return {
    users: Object.fromEntries(
      rows.users
        .map(
          (u) =>
            [
              strip(u.directory_user_id),
              {
                state: u.state,
                deleted: u.deleted_at !== null,
                lastName: u.last_name,
                email: u.email?.slice(prefix.length) ?? null,
                role: u.role,
              },
            ] as const,
        )
        .sort(([a], [b]) => a.localeCompare(b)),
    ),
    groups: Object.fromEntries(
      rows.groups
        .map(
          (g) =>
            [
              strip(g.directory_group_id),
              { deleted: g.deleted_at !== null, name: g.name },
            ] as const,
        )
        .sort(([a], [b]) => a.localeCompare(b)),
    ),
    memberships: rows.memberships
      .filter((m) => m.removed_at === null)
      .map((m) => `${groupKeys.get(m.group_id)}|${userKeys.get(m.user_id)}`)
      .sort(),
  };
}

export function projectSnapshot(snapshot: Snapshot, prefix: string): Projection {
  return project(
    {
      users: [...snapshot.users.values()],
      groups: [...snapshot.groups.values()],
      memberships: [...snapshot.memberships.values()],
    },
    prefix,
  );
}
