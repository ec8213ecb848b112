// `dirsync pause --org <id>` stops draining an organization (its events keep
// arriving and wait as pending); `dirsync resume --org <id>` starts it again and
// triggers a drain of what waited.
import type { Command } from 'commander';
import { pause, resume } from '../../common/operator-actions.ts';
import { acting } from '../connections.ts';
import { actorOption, type CliContext, cliActor } from '../context.ts';
import { drainNote, print } from '../output.ts';

interface OrgOptions {
  org: string;
  actor?: string;
  json?: boolean;
}

export function registerPauseResume(program: Command, cli: CliContext): void {
  actorOption(program.command('pause'))
    .description("pause draining an organization's events until it is resumed")
    .requiredOption('--org <id>', 'the organization')
    .option('--json', 'print the result as JSON')
    .action(async (options: OrgOptions) => {
      const organization = await acting(cli, cliActor(options.actor), (deps) =>
        pause(deps, options.org),
      );
      print(cli, options.json, organization, () => [
        `paused ${organization.organizationId}: its events wait until \`dirsync resume --org ${organization.organizationId}\``,
      ]);
    });

  actorOption(program.command('resume'))
    .description('resume draining an organization and drain what waited')
    .requiredOption('--org <id>', 'the organization')
    .option('--json', 'print the result as JSON')
    .action(async (options: OrgOptions) => {
      const organization = await acting(cli, cliActor(options.actor), (deps) =>
        resume(deps, options.org),
      );
      print(cli, options.json, organization, () => [
        `resumed ${organization.organizationId}; ${drainNote(organization)}`,
      ]);
    });
}
