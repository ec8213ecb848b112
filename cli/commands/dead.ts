// `dirsync dead list [--org <id>] [--limit <n>] [--json]`: events parked as dead,
// oldest first, with the error that parked them (never their payloads).
import type { Command } from 'commander';
import { assertOrganizationExists, deadEvents } from '../../common/operator-actions.ts';
import { reading } from '../connections.ts';
import type { CliContext } from '../context.ts';
import { formatTable, print } from '../output.ts';
import { positiveInt } from './options.ts';

interface DeadListOptions {
  org?: string;
  limit: number;
  json?: boolean;
}

export function registerDead(program: Command, cli: CliContext): void {
  const dead = program.command('dead').description('events parked as dead after failing');
  dead
    .command('list')
    .description('list dead events with their errors, oldest first')
    .option('--org <id>', 'only this organization')
    .option('--limit <n>', 'most events listed', positiveInt, 100)
    .option('--json', 'print the result as JSON')
    .action((options: DeadListOptions) =>
      reading(cli, async (db) => {
        if (options.org) await assertOrganizationExists(db, options.org);
        const events = await deadEvents(db, {
          organizationId: options.org,
          limit: options.limit,
        });
        print(cli, options.json, { events }, () =>
          events.length === 0
            ? ['no dead events']
            : formatTable(
                ['event', 'organization', 'type', 'occurred', 'attempts', 'error'],
                events.map((e) => [
                  e.eventId,
                  e.organizationId ?? '-',
                  e.eventType,
                  e.occurredAt.toISOString(),
                  String(e.attempts),
                  (e.lastError ?? '').replace(/\s+/g, ' '),
                ]),
              ),
        );
      }),
    );
}
