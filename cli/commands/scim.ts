// `dirsync scim create|list|rotate-token|delete`: SCIM directories an identity
// provider (Okta, Entra ID) pushes to. `create` prints the base URL and the bearer
// token once (only its hash is kept); `delete` deprovisions everyone in the
// directory (as dsync.deleted does) through the drain.
import type { Command } from 'commander';
import {
  createScimDirectory,
  deleteScimDirectory,
  listScimDirectorySummaries,
  rotateScimDirectoryToken,
} from '../../common/scim/directories.ts';
import type { Database } from '../../db/database.ts';
import { acting, reading } from '../connections.ts';
import { actorOption, type CliContext, cliActor } from '../context.ts';
import { formatTable, print } from '../output.ts';

export function registerScim(program: Command, cli: CliContext): void {
  const scim = program
    .command('scim')
    .description('SCIM 2.0 directories that Okta, Entra ID and others provision directly');

  actorOption(scim.command('create'))
    .description('create a SCIM directory for an organization; prints its base URL and token once')
    .requiredOption('--org <id>', 'the organization (created if missing)')
    .option('--name <text>', 'a name for the directory')
    .option('--json', 'print {"directoryId","organizationId","baseUrl","token"}')
    .action(async (options: { org: string; name?: string; actor?: string; json?: boolean }) => {
      const config = cli.config();
      const actor = cliActor(options.actor);
      const created = await acting(cli, actor, (deps) =>
        createScimDirectory(
          {
            // acting() opens a full database handle (transactions included).
            db: deps.db as Database,
            config,
            actor,
            apply: async (organizationId) => {
              await deps
                .triggerDrain(organizationId)
                .catch((err: Error) => deps.onTriggerError?.(err, organizationId));
            },
          },
          { organizationId: options.org, name: options.name },
        ),
      );
      print(cli, options.json, created, () => [
        `created SCIM directory ${created.directoryId} for ${created.organizationId}`,
        `base URL: ${created.baseUrl}`,
        `token:    ${created.token}`,
        'The token is shown only now; give both to the identity provider.',
      ]);
    });

  scim
    .command('list')
    .description('list SCIM directories')
    .option('--org <id>', 'only this organization')
    .option('--json', 'print the result as JSON')
    .action(async (options: { org?: string; json?: boolean }) => {
      const config = cli.config();
      const list = await reading(cli, (db) =>
        listScimDirectorySummaries({ db, config }, options.org),
      );
      print(cli, options.json, list, () =>
        list.length === 0
          ? ['no SCIM directories']
          : formatTable(
              ['directory', 'organization', 'state', 'name', 'base url'],
              list.map((d) => [
                d.directoryId,
                d.organizationId,
                d.deletedAt ? 'deleted' : 'active',
                d.name ?? '',
                d.baseUrl,
              ]),
            ),
      );
    });

  actorOption(scim.command('rotate-token'))
    .description('issue a new token; the old one stops after SCIM_TOKEN_GRACE_MS')
    .requiredOption('--directory <id>', 'the SCIM directory')
    .option('--json', 'print the result as JSON')
    .action(async (options: { directory: string; actor?: string; json?: boolean }) => {
      const config = cli.config();
      const actor = cliActor(options.actor);
      const rotated = await reading(cli, (db) =>
        rotateScimDirectoryToken({ db, config, actor }, options.directory),
      );
      print(cli, options.json, rotated, () => [
        `new token for ${rotated.directoryId}: ${rotated.token}`,
        rotated.previousTokenExpiresInMs > 0
          ? `the previous token keeps working for ${rotated.previousTokenExpiresInMs} ms`
          : 'the previous token no longer works',
      ]);
    });

  actorOption(scim.command('delete'))
    .description('delete a SCIM directory: everyone in it is deprovisioned')
    .requiredOption('--directory <id>', 'the SCIM directory')
    .option('--json', 'print the result as JSON')
    .action(async (options: { directory: string; actor?: string; json?: boolean }) => {
      const config = cli.config();
      const actor = cliActor(options.actor);
      let triggered = true;
      const deleted = await acting(cli, actor, (deps) =>
        deleteScimDirectory(
          {
            db: deps.db as Database,
            config,
            actor,
            apply: async (organizationId) => {
              await deps.triggerDrain(organizationId).catch((err: Error) => {
                triggered = false;
                deps.onTriggerError?.(err, organizationId);
              });
            },
          },
          options.directory,
        ),
      );
      print(cli, options.json, { ...deleted, triggered }, () => [
        `deleted SCIM directory ${deleted.directoryId}: its tokens stop now; everyone in it is deprovisioned by the drain (event ${deleted.eventId})`,
      ]);
    });
}
