// POST /webhooks/workos: where WorkOS posts directory events. The signature is
// checked on the raw bytes, so this route reads its JSON body as a Buffer in a plugin
// of its own; every other route keeps Fastify's JSON parsing.
//
// Answers: 200 `{ received, duplicate }` once the event is committed (unknown event
// types too, recorded as ignored); 401 bad, missing, stale or future signature; 400
// malformed JSON or invalid directory event; 413 too large; 415 not JSON; 503 when
// no secret is configured or the inbox cannot be written. Logs carry the request id,
// event id, type and organization: never the body, the signature or a secret.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Resources } from '../../common/resources.ts';
import { AppError } from '../errors.ts';
import { createIngestor, type IngestEvent } from '../webhooks/ingest-event.ts';
import {
  createSignatureVerifier,
  SignatureError,
  type VerifySignature,
} from '../webhooks/verify-signature.ts';

export const WEBHOOK_PATH = '/webhooks/workos';

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

  await app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, body),
    );
    scope.addHook('onResponse', async (_request, reply) => {
      if (reply.statusCode >= 400)
        metrics.webhooks.inc({ outcome: `rejected_${reply.statusCode}` });
    });
    scope.post(WEBHOOK_PATH, { bodyLimit: config.WEBHOOK_BODY_LIMIT_BYTES }, (request, reply) =>
      receive(request, reply, verify, ingest, resources),
    );
  });
}

async function receive(
  request: FastifyRequest,
  reply: FastifyReply,
  verify: VerifySignature | undefined,
  ingest: IngestEvent,
  { metrics }: Resources,
) {
  reply.header('x-request-id', request.id);
  if (!verify) {
    throw new AppError(503, 'unavailable', 'webhooks are off: WORKOS_WEBHOOK_SECRET is not set');
  }
  // The parser above hands over the raw bytes; the signature covers exactly them.
  if (!Buffer.isBuffer(request.body)) {
    throw new AppError(415, 'unsupported_media_type', 'expected an application/json body');
  }
  const body = request.body.toString('utf8');
  const header = request.headers['workos-signature'];
  try {
    await verify(body, Array.isArray(header) ? header[0] : header);
  } catch (err) {
    if (!(err instanceof SignatureError)) throw err;
    request.log.info({ reason: err.reason }, 'webhook signature rejected');
    throw new AppError(401, 'invalid_signature', err.message);
  }
  const event = await ingest(body, request.log);
  const outcome = event.duplicate
    ? 'duplicate'
    : event.status === 'ignored'
      ? 'ignored'
      : 'accepted';
  metrics.webhooks.inc({ outcome });
  request.log.info(
    {
      eventId: event.eventId,
      eventType: event.eventType,
      orgId: event.organizationId,
      outcome,
    },
    'webhook received',
  );
  return { received: true, duplicate: event.duplicate };
}
