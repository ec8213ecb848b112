// `dirsync send-test-event [--delete] [--org <id>] [--user <id>] [--url <url>]`:
// posts one directory event to a running dirsync's webhook endpoint, signed with the
// configured WORKOS_WEBHOOK_SECRET exactly as WorkOS signs (`t=<ms>, v1=<hex>`, an
// HMAC-SHA256 of `<t>.<body>`), so a newcomer sees an event stored, applied and on
// the status page without a WorkOS account. The event has the shape of WorkOS's
// `dsync.user.created` (or, with --delete, `dsync.user.deleted`); a fresh event id
// each time, fixed test ids for the organization, directory and user, so a created
// then deleted user is the same user.
import { createHmac, randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import type { Config } from '../../common/config.ts';
import { type CliContext, CliError } from '../context.ts';
import { print } from '../output.ts';

interface SendOptions {
  delete?: boolean;
  org: string;
  user: string;
  url?: string;
  json?: boolean;
}

const DIRECTORY_ID = 'directory_dirsync_test';
const REQUEST_TIMEOUT_MS = 10_000;

/** A WorkOS-shaped directory user event (the fields dirsync reads, test values). */
export function testEvent(options: { delete?: boolean; org: string; user: string }) {
  const now = new Date().toISOString();
  return {
    object: 'event',
    id: `event_test_${Date.now().toString(36)}${randomBytes(6).toString('hex')}`,
    event: options.delete ? 'dsync.user.deleted' : 'dsync.user.created',
    data: {
      object: 'directory_user',
      id: options.user,
      directory_id: DIRECTORY_ID,
      organization_id: options.org,
      idp_id: 'dirsync-test',
      email: 'test.user@example.com',
      first_name: 'Test',
      last_name: 'User',
      state: options.delete ? 'inactive' : 'active',
      raw_attributes: {},
      custom_attributes: {},
      role: { slug: 'member' },
      roles: [{ slug: 'member' }],
      created_at: now,
      updated_at: now,
    },
    created_at: now,
    context: {},
  };
}

/** The header WorkOS sends: `t=<ms>, v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export function signWebhook(body: string, secret: string, timestamp = Date.now()): string {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp}, v1=${signature}`;
}

/** The local webhook URL: the API's listener (a wildcard address is reached on loopback). */
function defaultUrl(config: Config): string {
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
  const name = host.includes(':') ? `[${host}]` : host;
  return `http://${name}:${config.PORT}/webhooks/workos`;
}

export function registerSendTestEvent(program: Command, cli: CliContext): void {
  program
    .command('send-test-event')
    .description(
      'post a signed test event (a directory user created, or deleted) to the webhook endpoint',
    )
    .option('--delete', 'send dsync.user.deleted instead: deprovisions the test user')
    .option('--org <id>', 'organization id of the event', 'org_dirsync_test')
    .option('--user <id>', 'directory user id of the event', 'directory_user_dirsync_test')
    .option('--url <url>', 'webhook endpoint (default: http://HOST:PORT/webhooks/workos)')
    .option('--json', 'print the result as JSON')
    .action(async (options: SendOptions) => {
      const config = cli.config();
      const secret = config.WORKOS_WEBHOOK_SECRET?.[0];
      if (!secret) {
        throw new CliError(
          'WORKOS_WEBHOOK_SECRET is not set: the test event is signed with it',
          78,
          'not_configured',
        );
      }
      const url = options.url ?? defaultUrl(config);
      const event = testEvent(options);
      const body = JSON.stringify(event);
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'workos-signature': signWebhook(body, secret),
          },
          body,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (err) {
        const cause = (err as Error).cause as Error | undefined;
        throw new CliError(
          `could not reach ${url}: ${cause?.message ?? (err as Error).message} (is dirsync running? \`npm start\`)`,
          1,
          'unreachable',
        );
      }
      const text = await response.text();
      let answer: unknown = text;
      try {
        answer = JSON.parse(text);
      } catch {}
      const result = {
        eventId: event.id,
        eventType: event.event,
        organizationId: event.data.organization_id,
        userId: event.data.id,
        url,
        status: response.status,
        response: answer,
      };
      if (!response.ok) {
        if (options.json) cli.out(JSON.stringify(result));
        throw new CliError(
          `${url} answered ${response.status}: ${text.slice(0, 500)}`,
          1,
          'webhook_refused',
        );
      }
      print(cli, options.json, result, () => [
        `sent ${result.eventId} (${result.eventType}, organization ${result.organizationId}, user ${result.userId})`,
        `${url} answered ${response.status} ${text}`,
        `see it applied: dirsync status --org ${result.organizationId}`,
      ]);
    });
}
