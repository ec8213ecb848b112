// SCIM directories, as operators manage them from the command line and the admin
// API alike: create (prints the base URL and a token once), list, rotate the token,
// delete (a directory deletion: everyone in it is deprovisioned, as dsync.deleted
// does). The directory row itself (`directories`) is written by the drain, from a
// `dsync.activated` / `dsync.deleted` event of source `scim`, like every change.
import type { Database } from '../../db/database.ts';
import { type Actor, recordOperatorAction } from '../../db/repositories/audit.repository.ts';
import { insertEvents } from '../../db/repositories/inbox.repository.ts';
import { ensureOrganization } from '../../db/repositories/organizations.repository.ts';
import {
  findScimDirectory,
  insertScimDirectory,
  listScimDirectories,
  markScimDirectoryDeleted,
  rotateScimToken,
} from '../../db/repositories/scim-directories.repository.ts';
import type { ScimDirectory } from '../../db/tables/scim.table.ts';
import type { Config } from '../config.ts';
import { OperatorError } from '../operator-actions.ts';
import { monotonicId as ulid } from './ids.ts';
import { scimInboxRows } from './inbox-rows.ts';
import { hashScimToken, newScimToken } from './tokens.ts';
import { directoryEvent } from './wire-events.ts';

export interface ScimDirectoryDeps {
  db: Database;
  config: Pick<Config, 'PUBLIC_URL' | 'HOST' | 'PORT' | 'SCIM_TOKEN_GRACE_MS'>;
  /** Gets the organization's new events applied (a drain trigger, or the drain itself). */
  apply(organizationId: string): Promise<void>;
  /** Who acts, for the audit log (as every operator action: common/operator-actions.ts). */
  actor: Actor;
}

export interface ScimDirectorySummary {
  directoryId: string;
  organizationId: string;
  name: string | null;
  baseUrl: string;
  createdAt: string;
  deletedAt: string | null;
}

export function publicBaseUrl(config: ScimDirectoryDeps['config']): string {
  return (config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`).replace(/\/+$/, '');
}

export function scimBaseUrl(config: ScimDirectoryDeps['config'], directoryId: string): string {
  return `${publicBaseUrl(config)}/scim/v2/${directoryId}`;
}

function summary(config: ScimDirectoryDeps['config'], d: ScimDirectory): ScimDirectorySummary {
  return {
    directoryId: d.id,
    organizationId: d.organization_id,
    name: d.name,
    baseUrl: scimBaseUrl(config, d.id),
    createdAt: d.created_at.toISOString(),
    deletedAt: d.deleted_at?.toISOString() ?? null,
  };
}

export async function createScimDirectory(
  deps: ScimDirectoryDeps,
  input: { organizationId: string; name?: string },
): Promise<{ directoryId: string; organizationId: string; baseUrl: string; token: string }> {
  const token = newScimToken();
  const id = `directory_${ulid()}`;
  const now = new Date();
  await deps.db.transaction().execute(async (trx) => {
    await ensureOrganization(trx, input.organizationId);
    const row = await insertScimDirectory(trx, {
      id,
      organizationId: input.organizationId,
      name: input.name ?? null,
      tokenHash: hashScimToken(token),
    });
    const ref = {
      id,
      organizationId: input.organizationId,
      name: row.name,
      created: row.created_at,
    };
    await insertEvents(trx, scimInboxRows([directoryEvent(ref, 'activated', now)]));
    await recordOperatorAction(trx, deps.actor, {
      action: 'scim_directory_created',
      organizationId: input.organizationId,
      subjectType: 'directory',
      subjectId: id,
    });
  });
  await deps.apply(input.organizationId);
  return {
    directoryId: id,
    organizationId: input.organizationId,
    baseUrl: scimBaseUrl(deps.config, id),
    token,
  };
}

export async function listScimDirectorySummaries(
  deps: Pick<ScimDirectoryDeps, 'db' | 'config'>,
  organizationId?: string,
): Promise<ScimDirectorySummary[]> {
  const rows = await listScimDirectories(deps.db, organizationId);
  return rows.map((d) => summary(deps.config, d));
}

async function liveDirectory(deps: Pick<ScimDirectoryDeps, 'db'>, id: string) {
  const directory = await findScimDirectory(deps.db, id);
  if (!directory || directory.deleted_at) {
    throw new OperatorError('unknown_directory', `unknown SCIM directory ${id}`);
  }
  return directory;
}

export async function rotateScimDirectoryToken(
  deps: Omit<ScimDirectoryDeps, 'apply'>,
  directoryId: string,
): Promise<{
  directoryId: string;
  organizationId: string;
  baseUrl: string;
  token: string;
  previousTokenExpiresInMs: number;
}> {
  const directory = await liveDirectory(deps, directoryId);
  const token = newScimToken();
  const graceMs = deps.config.SCIM_TOKEN_GRACE_MS;
  await deps.db.transaction().execute(async (trx) => {
    await rotateScimToken(trx, directoryId, hashScimToken(token), graceMs);
    await recordOperatorAction(trx, deps.actor, {
      action: 'scim_token_rotated',
      organizationId: directory.organization_id,
      subjectType: 'token',
      subjectId: directoryId,
      detail: { previous_token_expires_in_ms: graceMs },
    });
  });
  return {
    directoryId,
    organizationId: directory.organization_id,
    baseUrl: scimBaseUrl(deps.config, directoryId),
    token,
    previousTokenExpiresInMs: deps.config.SCIM_TOKEN_GRACE_MS,
  };
}

/** Deletes a directory: tokens stop at once; the drain deprovisions everyone in it. */
export async function deleteScimDirectory(
  deps: ScimDirectoryDeps,
  directoryId: string,
): Promise<{ directoryId: string; organizationId: string; eventId: string }> {
  const directory = await liveDirectory(deps, directoryId);
  const event = directoryEvent(
    {
      id: directory.id,
      organizationId: directory.organization_id,
      name: directory.name,
      created: directory.created_at,
    },
    'deleted',
    new Date(),
  );
  await deps.db.transaction().execute(async (trx) => {
    await markScimDirectoryDeleted(trx, directoryId);
    await insertEvents(trx, scimInboxRows([event]));
    await recordOperatorAction(trx, deps.actor, {
      action: 'scim_directory_deleted',
      organizationId: directory.organization_id,
      subjectType: 'directory',
      subjectId: directoryId,
      detail: { event_id: event.id },
    });
  });
  await deps.apply(directory.organization_id);
  return { directoryId, organizationId: directory.organization_id, eventId: event.id };
}
