// POST /webhooks/workos: where WorkOS posts directory events. The signature is
// checked on the raw bytes, so this route reads its JSON body as a Buffer in a plugin
// of its own; every other route keeps Fastify's JSON parsing.
//
// Answers: 200 `{ received, duplicate }` once the event is committed (unknown event
// types too, recorded as ignored); 401 bad, missing, stale or future signature; 400
// a body that is not UTF-8 or not JSON, an invalid directory event, or one Postgres
// cannot store (a NUL character, JSON nested too deep); 413 too large; 415 not JSON;
// 503 when no secret is configured or the inbox cannot be written.
//
// Logs: one line per delivery, once answered, with the request id, status, outcome,
// duration and the event's id, type and organization (or why it was rejected); never
// the body, the signature or a secret. Fastify's own two lines per request are left
// out for this route (its log level is warn): at webhook rates two more lines per
// request cost more CPU than the rest of the logging put together.
import type { FastifyInstance, FastifyRequest, LogLevel } from 'fastify';
import type { Resources } from '../../common/resources.ts';
import { AppError } from '../errors.ts';
import { createIngestor, type IngestEvent } from '../webhooks/ingest-event.ts';
import {
  createSignatureVerifier,
  SignatureError,
  type VerifySignature,
} from '../webhooks/verify-signature.ts';

export const WEBHOOK_PATH = '/webhooks/workos';

/** What the delivery's log line says beyond status and duration. */
type Detail = Record<string, string | null>;

export async function registerWebhookRoutes(
  app: FastifyInstance,
  resources: Resources,
): Promise<void> {
  const { config, logger, metrics } = resources;
  const secrets = config.WORKOS_WEBHOOK_SECRET ?? [];
  if (secrets.length === 0) {
    logger.warn(`WORKOS_WEBHOOK_SECRET is not set: ${WEBHOOK_PATH} answers 503`);
  }
  const verify =
    secrets.length > 0
      ? createSignatureVerifier({ secrets, toleranceMs: config.WORKOS_WEBHOOK_TOLERANCE_MS })
      : undefined;
  const ingest = createIngestor(resources);
  const details = new WeakMap<FastifyRequest, Detail>();
  await app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, body),
    );
    scope.addHook('onError', async (request, _reply, error) => {
      const code = error instanceof AppError ? error.code : (error.code ?? error.name);
      details.set(request, { ...details.get(request), error: code });
    });
    scope.addHook('onResponse', async (request, reply) => {
      const status = reply.statusCode;
      const detail = details.get(request);
      const outcome = status < 400 && detail?.outcome ? detail.outcome : `rejected_${status}`;
      if (status < 400) {
        metrics.webhooks.inc({ outcome });
        metrics.webhookLastReceived.setToCurrentTime();
      } else {
        // A 401's reason tells a rotated secret (mismatch) from clock trouble or noise.
        metrics.webhooks.inc({ outcome, reason: detail?.reason ?? detail?.error ?? 'unknown' });
      }
      app.log.info(
        {
          reqId: request.id,
          ip: request.ip,
          status,
          ms: Math.round(reply.elapsedTime * 10) / 10,
          ...detail,
          outcome,
        },
        'webhook',
      );
    });
    scope.post(
      WEBHOOK_PATH,
      { bodyLimit: config.WEBHOOK_BODY_LIMIT_BYTES, logLevel: atLeastWarn(app.log.level) },
      (request) => receive(request, verify, ingest, details),
    );
  });
}

/** The route's log level: warn, or the configured level when that is quieter still. */
function atLeastWarn(level: string): LogLevel {
  const order: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
  return order.indexOf(level as LogLevel) > order.indexOf('warn') ? (level as LogLevel) : 'warn';
}

async function receive(
  request: FastifyRequest,
  verify: VerifySignature | undefined,
  ingest: IngestEvent,
  details: WeakMap<FastifyRequest, Detail>,
) {
  if (!verify) {
    throw new AppError(503, 'unavailable', 'webhooks are off: WORKOS_WEBHOOK_SECRET is not set');
  }
  // The parser above hands over the raw bytes; the signature covers exactly them.
  if (!Buffer.isBuffer(request.body)) {
    throw new AppError(415, 'unsupported_media_type', 'expected an application/json body');
  }
  const header = request.headers['workos-signature'];
  let body: string | undefined;
  try {
    body = await verify(request.body, Array.isArray(header) ? header[0] : header);
  } catch (err) {
    if (!(err instanceof SignatureError)) throw err;
    details.set(request, { reason: err.reason });
    throw new AppError(401, 'invalid_signature', err.message);
  }
  // Authentic, but JSON is UTF-8 text (RFC 8259) and these bytes are not.
  if (body === undefined) throw new AppError(400, 'invalid_json', 'the body is not UTF-8 text');
  const event = await ingest(body, request.log);
  details.set(request, {
    eventId: event.eventId,
    eventType: event.eventType,
    orgId: event.organizationId,
    outcome: event.duplicate ? 'duplicate' : event.status === 'ignored' ? 'ignored' : 'accepted',
  });
  return { received: true, duplicate: event.duplicate };
}
