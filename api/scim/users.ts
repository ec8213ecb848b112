// /Users: create, read, list (filter, pagination), replace, patch, delete. Writes go
// through commitWrite: stored, turned into directory events, applied, then answered.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { monotonicId as ulid } from '../../common/scim/ids.ts';
import { type StoredUser, userEvent } from '../../common/scim/wire-events.ts';
import {
  deleteScimUser,
  findScimUser,
  insertScimUser,
  listScimUsers,
  lockScimUser,
  updateScimUser,
} from '../../db/repositories/scim-users.repository.ts';
import type { ScimUserRow } from '../../db/tables/scim.table.ts';
import type { AuthenticatedDirectory } from './auth.ts';
import { commitWrite, type ScimDeps } from './commit.ts';
import { ScimError } from './errors.ts';
import { parseFilter } from './filter.ts';
import { type ListQuery, listQuerySchema, paging } from './list-query.ts';
import { patchUser } from './patch.ts';
import { project } from './projection.ts';
import {
  isObject,
  LIST_SCHEMA,
  parseUser,
  sameJson,
  type UserInput,
  userResource,
} from './resources.ts';

export interface ScimScope {
  deps: ScimDeps;
  directoryOf(request: FastifyRequest): AuthenticatedDirectory;
  baseOf(request: FastifyRequest): string;
}

export function toStoredUser(row: ScimUserRow): StoredUser {
  return {
    id: row.id,
    userName: row.user_name,
    externalId: row.external_id,
    active: row.active,
    attributes: row.attributes,
    created: row.created_at,
    lastModified: row.last_modified,
  };
}

function toRow(directoryId: string, user: StoredUser): ScimUserRow {
  return {
    directory_id: directoryId,
    id: user.id,
    user_name: user.userName,
    external_id: user.externalId,
    active: user.active,
    attributes: user.attributes,
    created_at: user.created,
    last_modified: user.lastModified,
  };
}

type IdParams = { Params: { directoryId: string; id: string } };
type ListParams = { Params: { directoryId: string }; Querystring: ListQuery };

export function registerUserRoutes(scope: FastifyInstance, s: ScimScope): void {
  const { deps } = s;

  scope.post('/Users', async (request, reply) => {
    const directory = s.directoryOf(request);
    const input = parseUser(request.body);
    const now = new Date();
    const user: StoredUser = {
      id: `directory_user_${ulid()}`,
      ...input,
      created: now,
      lastModified: now,
    };
    await commitWrite(deps, directory, async (trx) => {
      await insertScimUser(trx, toRow(directory.id, user));
      return { events: [userEvent(directory, 'created', user, now)], result: undefined };
    });
    const resource = userResource(user, s.baseOf(request));
    return reply
      .status(201)
      .header('location', (resource.meta as { location: string }).location)
      .send(resource);
  });

  scope.get<IdParams>('/Users/:id', async (request) => {
    const directory = s.directoryOf(request);
    const row = await findScimUser(deps.db, directory.id, request.params.id);
    if (!row) throw new ScimError(404, `User ${request.params.id} not found`);
    const q = request.query as ListQuery;
    return project(
      userResource(toStoredUser(row), s.baseOf(request)),
      q.attributes,
      q.excludedAttributes,
    );
  });

  scope.get<ListParams>('/Users', { schema: { querystring: listQuerySchema } }, async (request) => {
    const directory = s.directoryOf(request);
    const q = request.query;
    const filter = parseFilter(q.filter);
    const { startIndex, count } = paging(q);
    const { total, rows } = await listScimUsers(deps.db, directory.id, {
      filter,
      offset: startIndex - 1,
      limit: count,
    });
    const base = s.baseOf(request);
    return {
      schemas: [LIST_SCHEMA],
      totalResults: total,
      itemsPerPage: rows.length,
      startIndex,
      Resources: rows.map((r) =>
        project(userResource(toStoredUser(r), base), q.attributes, q.excludedAttributes),
      ),
    };
  });

  /** PUT and PATCH: the new state from the current one, stored and applied. */
  async function update(
    request: FastifyRequest<IdParams>,
    next: (current: StoredUser) => UserInput,
  ) {
    const directory = s.directoryOf(request);
    const id = request.params.id;
    const user = await commitWrite(deps, directory, async (trx) => {
      const row = await lockScimUser(trx, directory.id, id);
      if (!row) throw new ScimError(404, `User ${id} not found`);
      const current = toStoredUser(row);
      const input = next(current);
      if (
        input.userName === current.userName &&
        input.externalId === current.externalId &&
        sameJson(input.attributes, current.attributes)
      ) {
        return { events: [], result: current }; // as asked already: a retry, or Entra's periodic active: true
      }
      const now = new Date();
      const updated: StoredUser = { ...current, ...input, lastModified: now };
      await updateScimUser(trx, toRow(directory.id, updated));
      return { events: [userEvent(directory, 'updated', updated, now)], result: updated };
    });
    return userResource(user, s.baseOf(request));
  }

  scope.put<IdParams>('/Users/:id', (request) =>
    update(request, () => {
      const body = request.body;
      if (isObject(body) && typeof body.id === 'string' && body.id !== request.params.id) {
        throw new ScimError(400, 'id cannot be changed', 'mutability');
      }
      return parseUser(body);
    }),
  );

  scope.patch<IdParams>('/Users/:id', (request) =>
    update(request, (current) => {
      const schemas = userResource(current, '').schemas as string[];
      const patched = patchUser(current.id, schemas, current.attributes, request.body);
      if (patched.userName === undefined)
        throw new ScimError(400, 'userName is required', 'mutability');
      return parseUser(patched);
    }),
  );

  scope.delete<IdParams>('/Users/:id', async (request, reply) => {
    const directory = s.directoryOf(request);
    const id = request.params.id;
    await commitWrite(deps, directory, async (trx) => {
      const row = await lockScimUser(trx, directory.id, id);
      if (!row) throw new ScimError(404, `User ${id} not found`);
      await deleteScimUser(trx, directory.id, id);
      const now = new Date();
      const user = { ...toStoredUser(row), lastModified: now };
      return { events: [userEvent(directory, 'deleted', user, now)], result: undefined };
    });
    return reply.status(204).send();
  });
}
