// `dirsync resync --org <id> [--dry-run] [--force] [--json]`: reconciles one
// organization against WorkOS's directory API. The differences go into the inbox as
// synthetic events that the worker's drain applies in order; --dry-run prints the
// difference (counts and a sample of ids and field names) and changes nothing.
// Progress goes to stderr, the result to stdout.
import type { Command } from 'commander';
import { pino } from 'pino';
import type { Config } from '../../common/config.ts';
import { createLogger } from '../../common/logger.ts';
import { openResources } from '../../common/resources.ts';
import { recordOperatorAction } from '../../db/repositories/audit.repository.ts';
import {
  ResyncError,
  type ResyncProgress,
  type ResyncResult,
  resyncOrganization,
} from '../../worker/resync.ts';
import { actorOption, type CliContext, CliError, cliActor } from '../context.ts';

interface ResyncOptions {
  actor?: string;
  org: string;
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
}

/**
 * Logs on stderr, so --json output stays one clean document on stdout; none at all
 * with --json, whose stderr is only the one error line a script parses (the error
 * carries the cause the retry warnings would have shown).
 */
function stderrLogger(config: Config, json: boolean | undefined) {
  const level = json
    ? 'silent'
    : config.LOG_LEVEL === 'info' || config.LOG_LEVEL === 'debug'
      ? 'warn'
      : config.LOG_LEVEL;
  return createLogger({ LOG_LEVEL: level }, 'dirsync-cli', pino.destination(2));
}

/** One line, rewritten in place on a terminal; an occasional line otherwise; none with --json. */
function progressPrinter(cli: CliContext, tty: boolean, json: boolean | undefined) {
  let last = 0;
  let shown = false;
  return {
    update(p: ResyncProgress) {
      if (json) return;
      const now = Date.now();
      if (now - last < (tty ? 200 : 5_000) && p.phase !== 'comparing' && p.phase !== 'storing')
        return;
      last = now;
      const line =
        'requests' in p
          ? `reading WorkOS: ${p.directories} directories, ${p.groups} groups, ${p.users} users (${p.requests} requests)`
          : p.phase === 'comparing'
            ? 'comparing with the database…'
            : `storing ${p.events ?? 0} events…`;
      if (tty) {
        process.stderr.write(`\r\x1b[2K${line}`);
        shown = true;
      } else cli.err(line);
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[2K');
    },
  };
}

function printResult(cli: CliContext, r: ResyncResult): void {
  const total = r.events;
  cli.out(
    `${r.organizationId}: ${total === 0 ? 'in step, nothing to change' : `${total} changes`}${r.dryRun ? ' (dry run: nothing written)' : ''}`,
  );
  const sizes = (s: ResyncResult['upstream']) =>
    `${s.directories} directories, ${s.users} users, ${s.groups} groups, ${s.memberships} memberships`;
  cli.out(`  WorkOS:  ${sizes(r.upstream)}`);
  cli.out(`  dirsync: ${sizes(r.local)}`);
  for (const [type, n] of Object.entries(r.counts)) cli.out(`  ${type.padEnd(26)} ${n}`);
  if (r.stale > 0) cli.out(`  ${'older upstream, left as is'.padEnd(26)} ${r.stale}`);
  if (r.sample.length > 0) {
    cli.out('sample:');
    for (const c of r.sample) {
      cli.out(`  ${c.type.padEnd(26)} ${c.subject}${c.fields ? ` (${c.fields.join(', ')})` : ''}`);
    }
  }
  if (!r.dryRun && r.stored > 0) {
    cli.out(`stored ${r.stored} events; the worker's drain applies them in order`);
  }
  cli.out(`${r.requests} WorkOS requests in ${(r.durationMs / 1000).toFixed(1)} s`);
}

export function registerResync(program: Command, cli: CliContext): void {
  actorOption(program.command('resync'))
    .description("reconcile one organization against WorkOS's directory API")
    .requiredOption('--org <id>', 'the WorkOS organization id')
    .option('--dry-run', 'print the difference; change nothing')
    .option('--force', 'allow deprovisioning most of the organization at once')
    .option('--json', 'print the result as JSON')
    .action(async (options: ResyncOptions) => {
      const config = cli.config();
      if (!config.WORKOS_API_KEY) {
        throw new CliError(
          'WORKOS_API_KEY is not set: resync needs the WorkOS API',
          78,
          'not_configured',
        );
      }
      const logger = stderrLogger(config, options.json);
      const resources = openResources(config, logger);
      const progress = progressPrinter(cli, process.stderr.isTTY === true, options.json);
      const actor = cliActor(options.actor);
      try {
        const result = await resyncOrganization(resources, options.org, {
          dryRun: options.dryRun,
          force: options.force,
          onProgress: (p) => progress.update(p),
        });
        progress.done();
        if (!result.dryRun) {
          await recordOperatorAction(resources.db, actor, {
            action: 'resync_run',
            organizationId: options.org,
            subjectType: 'organization',
            subjectId: options.org,
            detail: { events: result.stored, force: options.force === true },
          });
        }
        if (options.json) cli.out(JSON.stringify(result));
        else printResult(cli, result);
      } catch (err) {
        progress.done();
        if (!(err instanceof ResyncError)) throw err;
        if (err.code === 'mass_deletion' && err.result) {
          if (options.json) cli.out(JSON.stringify(err.result));
          else printResult(cli, err.result);
          throw new CliError(`${err.message} with --force`, 1, err.code);
        }
        throw new CliError(err.message, err.code === 'unknown_organization' ? 2 : 1, err.code);
      } finally {
        await resources.close();
        logger.flush();
      }
    });
}
