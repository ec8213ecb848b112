// `dirsync replay <event-id>` puts one event back in its organization's queue;
// `dirsync replay --org <id> --dead` every dead event of an organization. Applying
// is idempotent, so replaying an applied event changes nothing.
import type { Command } from 'commander';
import { replayDeadEventsOf, replayOneEvent } from '../../common/operator-actions.ts';
import { acting } from '../connections.ts';
import { actorOption, type CliContext, CliError, cliActor } from '../context.ts';
import { drainNote, print } from '../output.ts';

interface ReplayOptions {
  actor?: string;
  org?: string;
  dead?: boolean;
  json?: boolean;
}

export function registerReplay(program: Command, cli: CliContext): void {
  actorOption(program.command('replay'))
    .description('replay one event, or every dead event of an organization')
    .argument('[event-id]', 'the event to replay')
    .option('--org <id>', 'the organization whose dead events to replay (with --dead)')
    .option('--dead', 'replay every dead event of --org')
    .option('--json', 'print the result as JSON')
    .action(async (eventId: string | undefined, options: ReplayOptions) => {
      if (eventId && (options.org || options.dead)) {
        throw new CliError('give either an event id or --org <id> --dead, not both', 2);
      }
      if (eventId) {
        const r = await acting(cli, cliActor(options.actor), (deps) =>
          replayOneEvent(deps, eventId),
        );
        print(cli, options.json, r, () => [
          `replayed ${r.eventId} (${r.eventType}, was ${r.previousStatus}) of ${r.organizationId}; ${drainNote(r)}`,
        ]);
        return;
      }
      if (!options.org || !options.dead) {
        throw new CliError('replay what? give an event id, or --org <id> --dead', 2);
      }
      const organizationId = options.org;
      const r = await acting(cli, cliActor(options.actor), (deps) =>
        replayDeadEventsOf(deps, organizationId),
      );
      print(cli, options.json, r, () =>
        r.eventIds.length === 0
          ? [`${r.organizationId} has no dead events`]
          : [
              `replayed ${r.eventIds.length} dead events of ${r.organizationId}; ${drainNote(r)}`,
              ...r.eventIds.map((id) => `  ${id}`),
            ],
      );
    });
}
