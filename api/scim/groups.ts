// /Groups: the same verbs as /Users, with members kept one row per (group, user).
// A membership change becomes one dsync.group.user_added / user_removed event per
// user whose membership really changed, so the drain touches only those rows.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { monotonicId as ulid } from '../../common/scim/ids.ts';
import {
  groupEvent,
  membershipEvent,
  type StoredGroup,
  type WireEvent,
} from '../../common/scim/wire-events.ts';
import type { Transaction } from '../../db/database.ts';
import {
  addScimMembers,
  deleteScimGroup,
  findScimGroup,
  insertScimGroup,
  listScimGroups,
  lockScimGroup,
  membersOfGroups,
  removeScimMembers,
  replaceScimMembers,
  updateScimGroup,
} from '../../db/repositories/scim-groups.repository.ts';
import { findScimUsersByIds } from '../../db/repositories/scim-users.repository.ts';
import type { ScimGroupRow } from '../../db/tables/scim.table.ts';
import type { AuthenticatedDirectory } from './auth.ts';
import { commitWrite } from './commit.ts';
import { ScimError } from './errors.ts';
import { parseFilter } from './filter.ts';
import { type ListQuery, listQuerySchema, paging } from './list-query.ts';
import { type MemberChange, patchGroup } from './patch.ts';
import { project, wantsMembers } from './projection.ts';
import {
  GROUP_SCHEMA,
  groupResource,
  isObject,
  LIST_SCHEMA,
  type Member,
  parseGroup,
  sameJson,
} from './resources.ts';
import { type ScimScope, toStoredUser } from './users.ts';

function toStored(row: ScimGroupRow): StoredGroup {
  return {
    id: row.id,
    displayName: row.display_name,
    externalId: row.external_id,
    attributes: row.attributes,
    created: row.created_at,
    lastModified: row.last_modified,
  };
}

function toRow(directoryId: string, g: StoredGroup): ScimGroupRow {
  return {
    directory_id: directoryId,
    id: g.id,
    display_name: g.displayName,
    external_id: g.externalId,
    attributes: g.attributes,
    created_at: g.created,
    last_modified: g.lastModified,
  };
}

/**
 * Runs member changes in order as row inserts and deletes; returns each user whose
 * membership differs at the end from the start (true: now a member).
 */
async function applyMemberChanges(
  trx: Transaction,
  directoryId: string,
  groupId: string,
  changes: MemberChange[],
): Promise<Map<string, boolean>> {
  const initial = new Map<string, boolean>();
  const final = new Map<string, boolean>();
  const note = (ids: string[], nowMember: boolean) => {
    for (const id of ids) {
      if (!initial.has(id)) initial.set(id, !nowMember);
      final.set(id, nowMember);
    }
  };
  const toAdd = [
    ...new Set(changes.flatMap((c) => (c.kind === 'add' || c.kind === 'replace' ? c.ids : []))),
  ];
  if (toAdd.length > 0) {
    const found = new Set((await findScimUsersByIds(trx, directoryId, toAdd)).map((u) => u.id));
    const missing = toAdd.filter((id) => !found.has(id));
    if (missing.length > 0) {
      throw new ScimError(
        400,
        `no User ${missing.slice(0, 5).join(', ')} in this directory`,
        'invalidValue',
      );
    }
  }
  for (const c of changes) {
    if (c.kind === 'add')
      note(await addScimMembers(trx, directoryId, groupId, [...new Set(c.ids)]), true);
    else if (c.kind === 'remove')
      note(await removeScimMembers(trx, directoryId, groupId, [...new Set(c.ids)]), false);
    else {
      const ids = c.kind === 'replace' ? [...new Set(c.ids)] : [];
      const { added, removed } = await replaceScimMembers(trx, directoryId, groupId, ids);
      note(removed, false);
      note(added, true);
    }
  }
  return new Map([...final].filter(([id, member]) => initial.get(id) !== member));
}

async function membershipEvents(
  trx: Transaction,
  directory: AuthenticatedDirectory,
  group: StoredGroup,
  changed: Map<string, boolean>,
  at: Date,
): Promise<WireEvent[]> {
  if (changed.size === 0) return [];
  const users = await findScimUsersByIds(trx, directory.id, [...changed.keys()]);
  return users
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((u) => membershipEvent(directory, changed.get(u.id)!, group, toStoredUser(u), at));
}

type IdParams = { Params: { directoryId: string; id: string } };
type ListParams = { Params: { directoryId: string }; Querystring: ListQuery };

async function membersOf(s: ScimScope, directoryId: string, groupIds: string[]) {
  const refs = await membersOfGroups(s.deps.db, directoryId, groupIds);
  const byGroup = new Map<string, Member[]>(groupIds.map((id) => [id, []]));
  for (const r of refs) {
    byGroup.get(r.groupId)!.push({ value: r.userId, display: r.displayName ?? r.userName });
  }
  return byGroup;
}

export function registerGroupRoutes(scope: FastifyInstance, s: ScimScope): void {
  const { deps } = s;

  async function respond(request: FastifyRequest, directoryId: string, group: StoredGroup) {
    const q = request.query as ListQuery;
    const members = wantsMembers(q.attributes, q.excludedAttributes)
      ? (await membersOf(s, directoryId, [group.id])).get(group.id)
      : undefined;
    return project(
      groupResource(group, members, s.baseOf(request)),
      q.attributes,
      q.excludedAttributes,
    );
  }

  scope.post('/Groups', async (request, reply) => {
    const directory = s.directoryOf(request);
    const input = parseGroup(request.body);
    const now = new Date();
    const group: StoredGroup = {
      id: `directory_group_${ulid()}`,
      displayName: input.displayName,
      externalId: input.externalId,
      attributes: input.attributes,
      created: now,
      lastModified: now,
    };
    await commitWrite(deps, directory, async (trx) => {
      await insertScimGroup(trx, toRow(directory.id, group));
      const changed = await applyMemberChanges(trx, directory.id, group.id, [
        { kind: 'add', ids: input.members ?? [] },
      ]);
      const events = [groupEvent(directory, 'created', group, now)];
      events.push(...(await membershipEvents(trx, directory, group, changed, now)));
      return { events, result: undefined };
    });
    const body = await respond(request, directory.id, group);
    return reply
      .status(201)
      .header('location', (body.meta as { location: string }).location)
      .send(body);
  });

  scope.get<IdParams>('/Groups/:id', async (request) => {
    const directory = s.directoryOf(request);
    const row = await findScimGroup(deps.db, directory.id, request.params.id);
    if (!row) throw new ScimError(404, `Group ${request.params.id} not found`);
    return respond(request, directory.id, toStored(row));
  });

  scope.get<ListParams>(
    '/Groups',
    { schema: { querystring: listQuerySchema } },
    async (request) => {
      const directory = s.directoryOf(request);
      const q = request.query;
      const filter = parseFilter(q.filter);
      if (filter && JSON.stringify(filter).match(/"kind":"(email|active)"/)) {
        throw new ScimError(400, 'Groups filter on displayName, externalId or id', 'invalidFilter');
      }
      const { startIndex, count } = paging(q);
      const { total, rows } = await listScimGroups(deps.db, directory.id, {
        filter,
        offset: startIndex - 1,
        limit: count,
      });
      const base = s.baseOf(request);
      const members = wantsMembers(q.attributes, q.excludedAttributes)
        ? await membersOf(
            s,
            directory.id,
            rows.map((r) => r.id),
          )
        : undefined;
      return {
        schemas: [LIST_SCHEMA],
        totalResults: total,
        itemsPerPage: rows.length,
        startIndex,
        Resources: rows.map((r) =>
          project(
            groupResource(toStored(r), members?.get(r.id), base),
            q.attributes,
            q.excludedAttributes,
          ),
        ),
      };
    },
  );

  async function update(
    request: FastifyRequest<IdParams>,
    next: (current: StoredGroup) => {
      attributes: Record<string, unknown>;
      members: MemberChange[];
    },
  ) {
    const directory = s.directoryOf(request);
    const id = request.params.id;
    const group = await commitWrite(deps, directory, async (trx) => {
      const row = await lockScimGroup(trx, directory.id, id);
      if (!row) throw new ScimError(404, `Group ${id} not found`);
      const current = toStored(row);
      const change = next(current);
      const input = parseGroup({ ...change.attributes });
      const now = new Date();
      let updated = current;
      const events: WireEvent[] = [];
      if (!sameJson(input.attributes, current.attributes)) {
        updated = {
          ...current,
          displayName: input.displayName,
          externalId: input.externalId,
          attributes: input.attributes,
          lastModified: now,
        };
        await updateScimGroup(trx, toRow(directory.id, updated));
        events.push(groupEvent(directory, 'updated', updated, now));
      }
      const changed = await applyMemberChanges(trx, directory.id, id, change.members);
      events.push(...(await membershipEvents(trx, directory, updated, changed, now)));
      return { events, result: updated };
    });
    return respond(request, directory.id, group);
  }

  scope.put<IdParams>('/Groups/:id', (request) =>
    update(request, () => {
      const body = request.body;
      if (isObject(body) && typeof body.id === 'string' && body.id !== request.params.id) {
        throw new ScimError(400, 'id cannot be changed', 'mutability');
      }
      // A PUT replaces the whole resource (RFC 7644 §3.5.1): `members` absent or
      // null is a group without members. Okta (AIW integrations) sends the whole
      // list on every PUT; Entra ID never PUTs a group.
      const input = parseGroup(body);
      return {
        attributes: input.attributes,
        members: [{ kind: 'replace', ids: input.members ?? [] }],
      };
    }),
  );

  scope.patch<IdParams>('/Groups/:id', (request) =>
    update(request, (current) =>
      patchGroup(current.id, [GROUP_SCHEMA], current.attributes, request.body),
    ),
  );

  scope.delete<IdParams>('/Groups/:id', async (request, reply) => {
    const directory = s.directoryOf(request);
    const id = request.params.id;
    await commitWrite(deps, directory, async (trx) => {
      const row = await lockScimGroup(trx, directory.id, id);
      if (!row) throw new ScimError(404, `Group ${id} not found`);
      await deleteScimGroup(trx, directory.id, id);
      const now = new Date();
      const group = { ...toStored(row), lastModified: now };
      return { events: [groupEvent(directory, 'deleted', group, now)], result: undefined };
    });
    return reply.status(204).send();
  });
}
