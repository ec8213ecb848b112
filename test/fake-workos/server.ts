// A fake WorkOS API on a local port, for tests and benchmarks. The real SDK talks to
// it (`apiHostname`, `port`, `https: false`), so the client code under test is the
// one used in production. It serves what dirsync reads:
//   GET /events            events, after, range_start, range_end, limit, organization_id
//   GET /directories       organization_id, search + list pagination
//   GET /directory_users   directory | group + list pagination (users embed `groups`)
//   GET /directory_groups  directory | user + list pagination
// with WorkOS's list shape `{ object: 'list', data, list_metadata: { before, after } }`,
// and injectable faults: 429 with Retry-After, 5xx, slow answers, dropped
// connections; optionally WorkOS's 4 requests/s per directory on /directory_users;
// and a hook between computing an answer and sending it, for races (the world
// changes after a page was read).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeWorkOSStore, type WireEvent } from './store.ts';

export interface Fault {
  /** Only requests to this path (default: any). */
  path?: string;
  /** Answer with this status instead (429, 500, 503…). */
  status?: number;
  /** Sent as Retry-After: seconds, or a string as it is (an HTTP-date). */
  retryAfter?: number | string;
  /** Wait this long before answering (a slow response). */
  delayMs?: number;
  /** Drop the connection without an answer (a network error). */
  drop?: boolean;
  /** Never answer: hold the request until the client gives up on it (a timeout). */
  hang?: boolean;
  /** How many matching requests it hits (default 1). */
  times?: number;
}

export interface RequestRecord {
  path: string;
  query: Record<string, string>;
  status: number;
  at: number;
}

export interface FakeWorkOSOptions {
  store?: FakeWorkOSStore;
  apiKey?: string;
  /** Enforce WorkOS's per-directory limit on /directory_users (requests per second). */
  directoryUsersPerSecond?: number;
  /** How answers are serialized (default JSON.stringify): tests send what it cannot. */
  serialize?: (body: unknown) => string;
}

export interface FakeWorkOS {
  store: FakeWorkOSStore;
  apiKey: string;
  hostname: string;
  port: number;
  /** Environment pointing dirsync's SDK client at this server. */
  env: {
    WORKOS_API_KEY: string;
    WORKOS_API_HOSTNAME: string;
    WORKOS_API_PORT: number;
    WORKOS_API_HTTPS: false;
  };
  requests: RequestRecord[];
  /** Queues a fault for the next matching request(s). */
  inject(fault: Fault): void;
  /**
   * Runs after a successful answer was computed and before it is sent: what the
   * hook changes in the store is not in that answer (a change made just after the
   * page was read). Set to undefined to remove.
   */
  beforeReply: ((request: RequestRecord) => void | Promise<void>) | undefined;
  close(): Promise<void>;
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const LIST_DEFAULT_LIMIT = 10;
const LIST_MAX_LIMIT = 100;

function limitOf(query: URLSearchParams): number {
  const raw = query.get('limit');
  if (raw === null) return LIST_DEFAULT_LIMIT;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_MAX_LIMIT) {
    throw new HttpError(422, `limit must be between 1 and ${LIST_MAX_LIMIT}`);
  }
  return limit;
}

/**
 * WorkOS list pagination over items in creation order: `order` (default desc),
 * `after`/`before` an id in the list, `list_metadata` naming the neighbours.
 */
function paginate<T extends { id: string }>(items: readonly T[], query: URLSearchParams) {
  const limit = limitOf(query);
  const ordered = query.get('order') === 'asc' ? [...items] : [...items].reverse();
  const after = query.get('after');
  const before = query.get('before');
  let start = 0;
  let end = ordered.length;
  if (after) {
    const i = ordered.findIndex((x) => x.id === after);
    start = i === -1 ? ordered.length : i + 1;
    end = Math.min(ordered.length, start + limit);
  } else if (before) {
    const i = ordered.findIndex((x) => x.id === before);
    end = i === -1 ? 0 : i;
    start = Math.max(0, end - limit);
  } else {
    end = Math.min(ordered.length, limit);
  }
  const data = ordered.slice(start, end);
  return {
    object: 'list' as const,
    data,
    list_metadata: {
      before: start > 0 && data.length > 0 ? data[0]!.id : null,
      after: end < ordered.length && data.length > 0 ? data.at(-1)!.id : null,
    },
  };
}

function listEvents(store: FakeWorkOSStore, query: URLSearchParams) {
  const limit = limitOf(query);
  const after = query.get('after');
  const rangeStart = query.get('range_start');
  const rangeEnd = query.get('range_end');
  if (after && rangeStart) throw new HttpError(422, 'after and range_start are mutually exclusive');
  const types = new Set(
    query
      .getAll('events')
      .concat(query.getAll('events[]'))
      .flatMap((v) => v.split(','))
      .filter(Boolean),
  );
  if (types.size === 0) throw new HttpError(422, 'events is required');
  const organizationId = query.get('organization_id');
  let start = 0;
  if (after) {
    const index = store.eventIndex.get(after);
    if (index === undefined) throw new HttpError(422, `unknown event id in after: ${after}`);
    start = index + 1;
  }
  const from = rangeStart ? Date.parse(rangeStart) : Number.NEGATIVE_INFINITY;
  const to = rangeEnd ? Date.parse(rangeEnd) : Number.POSITIVE_INFINITY;
  const data: WireEvent[] = [];
  for (let i = start; i < store.events.length && data.length < limit; i++) {
    const event = store.events[i]!;
    if (!types.has(event.event)) continue;
    const at = Date.parse(event.created_at);
    if (at < from || at > to) continue;
    if (organizationId && organizationOf(event) !== organizationId) continue;
    data.push(event);
  }
  return { object: 'list' as const, data, list_metadata: { after: data.at(-1)?.id ?? null } };
}

function organizationOf(event: WireEvent): unknown {
  const data = event.data as Record<string, { organization_id?: unknown } | unknown>;
  return (
    data.organization_id ??
    (data.user as { organization_id?: unknown } | undefined)?.organization_id ??
    (data.group as { organization_id?: unknown } | undefined)?.organization_id
  );
}

function route(store: FakeWorkOSStore, path: string, query: URLSearchParams): unknown {
  switch (path) {
    case '/events':
      return listEvents(store, query);
    case '/directories': {
      const org = query.get('organization_id');
      const search = query.get('search')?.toLowerCase();
      const items = [...store.directories.values()].filter(
        (d) =>
          (!org || d.organization_id === org) && (!search || d.name.toLowerCase().includes(search)),
      );
      return paginate(items, query);
    }
    case '/directory_users': {
      const directory = query.get('directory');
      const group = query.get('group');
      if (!directory && !group) throw new HttpError(422, 'directory or group is required');
      const members = group ? store.members.get(group) : undefined;
      const items = [...store.users.values()]
        .filter(
          (u) => (!directory || u.directory_id === directory) && (!group || members?.has(u.id)),
        )
        .map((u) => ({ ...u, groups: store.groupsOf(u.id) }));
      return paginate(items, query);
    }
    case '/directory_groups': {
      const directory = query.get('directory');
      const user = query.get('user');
      if (!directory && !user) throw new HttpError(422, 'directory or user is required');
      const items = [...store.groups.values()].filter(
        (g) =>
          (!directory || g.directory_id === directory) &&
          (!user || store.members.get(g.id)?.has(user)),
      );
      return paginate(items, query);
    }
    default:
      throw new HttpError(404, `no route ${path}`);
  }
}

export async function startFakeWorkOS(options: FakeWorkOSOptions = {}): Promise<FakeWorkOS> {
  const store = options.store ?? new FakeWorkOSStore();
  const apiKey = options.apiKey ?? 'sk_test_fake_workos';
  const faults: Array<Fault & { left: number }> = [];
  const requests: RequestRecord[] = [];
  const usersRequests = new Map<string, number[]>();

  const send = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-request-id': `req_${requests.length}`,
      ...headers,
    });
    res.end((options.serialize ?? JSON.stringify)(body));
  };

  const overDirectoryLimit = (query: URLSearchParams): boolean => {
    const limit = options.directoryUsersPerSecond;
    const key = query.get('directory') ?? query.get('group');
    if (!limit || !key) return false;
    const now = performance.now();
    const recent = (usersRequests.get(key) ?? []).filter((t) => now - t < 1000);
    const over = recent.length >= limit;
    if (!over) recent.push(now);
    usersRequests.set(key, recent);
    return over;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake.workos');
    const record: RequestRecord = {
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0,
      at: Date.now(),
    };
    requests.push(record);
    const reply = (status: number, body: unknown, headers?: Record<string, string>) => {
      record.status = status;
      send(res, status, body, headers);
    };

    // WorkOS's limiter stands in front of everything: a request it lets through
    // counts even when it then fails.
    if (url.pathname === '/directory_users' && overDirectoryLimit(url.searchParams)) {
      return reply(429, { message: 'Too many requests' }, { 'retry-after': '1' });
    }
    const faultIndex = faults.findIndex((f) => !f.path || f.path === url.pathname);
    const fault = faultIndex === -1 ? undefined : faults[faultIndex];
    if (fault) {
      fault.left -= 1;
      if (fault.left <= 0) faults.splice(faultIndex, 1);
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.hang) {
        await new Promise((r) => res.once('close', r));
        record.status = -1;
        return;
      }
      if (fault.drop) {
        record.status = -1;
        req.socket.destroy();
        return;
      }
      if (fault.status) {
        const headers: Record<string, string> =
          fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {};
        reply(fault.status, { message: `injected fault ${fault.status}` }, headers);
        return;
      }
    }
    if (req.method !== 'GET') return reply(405, { message: 'method not allowed' });
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      return reply(401, { message: 'Unauthorized' });
    }
    try {
      const body = route(store, url.pathname, url.searchParams);
      await fake.beforeReply?.(record);
      reply(200, body);
    } catch (err) {
      if (err instanceof HttpError) reply(err.status, { message: err.message });
      else reply(500, { message: (err as Error).message });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) send(res, 500, { message: (err as Error).message });
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const fake: FakeWorkOS = {
    store,
    apiKey,
    hostname: '127.0.0.1',
    port,
    env: {
      WORKOS_API_KEY: apiKey,
      WORKOS_API_HOSTNAME: '127.0.0.1',
      WORKOS_API_PORT: port,
      WORKOS_API_HTTPS: false,
    },
    requests,
    inject(fault) {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
    beforeReply: undefined,
    close() {
      server.closeAllConnections();
      return new Promise((resolve, reject) =>
        server.close((err) => (err ? reject(err) : resolve())),
      );
    },
  };
  return fake;
}
