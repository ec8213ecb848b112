// Reading an organization's directory state from WorkOS: its directories, then each
// directory's groups and users (every page; users embed the groups they belong to,
// which gives the memberships without a request per group). Every request to
// /directory_users, retries included, goes through the per-directory rate limiter.
import type { Logger } from '../../common/logger.ts';
import { membershipKey } from '../membership-key.ts';
import { getListPage, type WorkOSClient } from '../workos/client.ts';
import { type RetryPolicy, withWorkOSRetry } from '../workos/retry.ts';
import type { RateLimiter } from './rate-limiter.ts';

/** Objects as WorkOS's list endpoints return them (snake_case); only what we read is typed. */
export type WireObject = Record<string, unknown> & { id: string };

export interface UpstreamState {
  directories: Map<string, WireObject>;
  users: Map<string, WireObject>;
  groups: Map<string, WireObject>;
  /** membershipKey(directory_group_id, directory_user_id) of every membership. */
  memberships: Set<string>;
  /** Groups named in a user's `groups` but missing from the group list (listed mid-change). */
  embeddedGroups: Map<string, WireObject>;
  requests: number;
}

export interface FetchProgress {
  phase: 'directories' | 'groups' | 'users';
  directoryId?: string;
  directories: number;
  groups: number;
  users: number;
  requests: number;
}

export interface FetchOptions {
  workos: WorkOSClient;
  log: Logger;
  limiter: RateLimiter;
  retry?: RetryPolicy;
  signal?: AbortSignal;
  /** Objects per page (WorkOS's largest is 100). */
  pageSize?: number;
  onProgress?: (progress: FetchProgress) => void;
}

export const PAGE_SIZE = 100;

function asObject(value: unknown, what: string): WireObject {
  const record = value as WireObject | null;
  if (!record || typeof record !== 'object' || typeof record.id !== 'string') {
    throw new Error(`${what} without an id in a WorkOS list`);
  }
  return record;
}

export async function fetchUpstream(
  organizationId: string,
  options: FetchOptions,
): Promise<UpstreamState> {
  const state: UpstreamState = {
    directories: new Map(),
    users: new Map(),
    groups: new Map(),
    memberships: new Set(),
    embeddedGroups: new Map(),
    requests: 0,
  };
  const report = (phase: FetchProgress['phase'], directoryId?: string) =>
    options.onProgress?.({
      phase,
      directoryId,
      directories: state.directories.size,
      groups: state.groups.size,
      users: state.users.size,
      requests: state.requests,
    });

  /** Every page of a list, in order. */
  async function each(
    phase: FetchProgress['phase'],
    path: string,
    query: Record<string, string>,
    visit: (item: unknown) => void,
    throttle?: () => Promise<void>,
  ) {
    let after: string | undefined;
    do {
      const page = await withWorkOSRetry(
        `GET ${path}`,
        async () => {
          // Every attempt takes a slot: WorkOS counts a retried request like any other.
          await throttle?.();
          return getListPage(options.workos, path, {
            ...query,
            limit: options.pageSize ?? PAGE_SIZE,
            after,
          });
        },
        { log: options.log, policy: options.retry, signal: options.signal },
      );
      state.requests += 1;
      for (const item of page.data) visit(item);
      after = page.after ?? undefined;
      report(phase, query.directory);
    } while (after);
  }

  await each('directories', '/directories', { organization_id: organizationId }, (item) => {
    const directory = asObject(item, 'directory');
    // The filter is the server's; a directory of another organization is never ours.
    if (directory.organization_id === organizationId)
      state.directories.set(directory.id, directory);
  });

  for (const directoryId of state.directories.keys()) {
    await each('groups', '/directory_groups', { directory: directoryId }, (item) => {
      const group = asObject(item, 'group');
      state.groups.set(group.id, group);
    });
    await each(
      'users',
      '/directory_users',
      { directory: directoryId },
      (item) => {
        const user = asObject(item, 'user');
        const { groups, ...rest } = user;
        state.users.set(user.id, rest as WireObject);
        for (const embedded of Array.isArray(groups) ? groups : []) {
          const group = asObject(embedded, 'group');
          state.memberships.add(membershipKey(group.id, user.id));
          state.embeddedGroups.set(group.id, group);
        }
      },
      () => options.limiter.take(directoryId),
    );
  }
  for (const id of state.groups.keys()) state.embeddedGroups.delete(id);
  return state;
}
