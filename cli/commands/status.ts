// `dirsync status [--org <id>] [--limit <n>] [--json]`: every organization's backlog,
// dead events and pause, those needing attention first; the same query as the
// admin API, the status page and the metrics.
import type { Command } from 'commander';
import { formatAgo, formatSeconds } from '../../common/durations.ts';
import { OperatorError } from '../../common/operator-actions.ts';
import { organizationStatuses, pollStatuses } from '../../db/repositories/status.repository.ts';
import { reading } from '../connections.ts';
import type { CliContext } from '../context.ts';
import { formatTable, print } from '../output.ts';
import { positiveInt } from './options.ts';

interface StatusOptions {
  org?: string;
  limit: number;
  json?: boolean;
}

export function registerStatus(program: Command, cli: CliContext): void {
  program
    .command('status')
    .description('show each organization: pending events, oldest pending, dead events, pause')
    .option('--org <id>', 'only this organization')
    .option('--limit <n>', 'most organizations shown', positiveInt, 100)
    .option('--json', 'print the result as JSON')
    .action((options: StatusOptions) =>
      reading(cli, async (db) => {
        const [statuses, poll] = await Promise.all([
          organizationStatuses(db, { organizationId: options.org, limit: options.limit }),
          pollStatuses(db),
        ]);
        if (options.org && statuses.organizations.length === 0) {
          throw new OperatorError('unknown_organization', `unknown organization ${options.org}`);
        }
        print(cli, options.json, { ...statuses, poll }, () => {
          const now = new Date();
          const rows = statuses.organizations.map((s) => [
            s.organizationId,
            s.state.replace('_', ' '),
            String(s.activeSeats ?? '-'),
            String(s.pending),
            s.oldestPendingAgeSeconds === null ? '-' : formatSeconds(s.oldestPendingAgeSeconds),
            String(s.dead),
            s.pausedAt ? `yes, ${formatAgo(s.pausedAt, now)}` : 'no',
            formatAgo(s.lastAppliedAt, now),
            formatAgo(s.lastReconciledAt, now),
          ]);
          const headers = [
            'organization',
            'state',
            'seats',
            'pending',
            'oldest pending',
            'dead',
            'paused',
            'last applied',
            'last reconcile',
          ];
          const shown =
            statuses.total > rows.length ? `, showing ${rows.length} needing attention first` : '';
          const polls = poll.map(
            (p) => `Events API poll ${p.cursor}: last ${formatAgo(p.polledAt, now)}`,
          );
          return [
            ...(rows.length > 0 ? formatTable(headers, rows) : ['no organizations yet']),
            '',
            `${statuses.total} organizations${shown}`,
            ...(polls.length > 0 ? polls : ['Events API poll: never ran']),
          ];
        });
      }),
    );
}
