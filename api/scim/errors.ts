// SCIM errors (RFC 7644 §3.12): `{"schemas":[Error URN],"status":"<code>","scimType"?,
// "detail"}`, as application/scim+json. Every error under /scim/v2 has this shape,
// including those Fastify raises before a route runs (413, invalid JSON, 415).
import type { FastifyError, FastifyInstance } from 'fastify';

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

export class ScimError extends Error {
  override name = 'ScimError';
  readonly status: number;
  readonly scimType: ScimType | undefined;
  constructor(status: number, detail: string, scimType?: ScimType) {
    super(detail);
    this.status = status;
    this.scimType = scimType;
  }
}

export function scimErrorBody(status: number, detail: string, scimType?: ScimType) {
  return {
    schemas: [ERROR_SCHEMA],
    status: String(status),
    ...(scimType ? { scimType } : {}),
    detail,
  };
}

const fastifyErrors: Record<string, [number, ScimType | undefined]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, undefined],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, undefined],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'invalidSyntax'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'invalidSyntax'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'invalidSyntax'],
  FST_ERR_VALIDATION: [400, 'invalidValue'],
};

/** Error and not-found handlers of the SCIM scope (encapsulated: the rest keeps its own). */
export function registerScimErrors(scope: FastifyInstance): void {
  scope.setErrorHandler((err: FastifyError | ScimError, request, reply) => {
    reply.type(SCIM_CONTENT_TYPE);
    if (err instanceof ScimError) {
      if (err.status >= 500) request.log.error({ err }, err.message);
      return reply.status(err.status).send(scimErrorBody(err.status, err.message, err.scimType));
    }
    const known = err.code ? fastifyErrors[err.code] : undefined;
    if (known) return reply.status(known[0]).send(scimErrorBody(known[0], err.message, known[1]));
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(err.statusCode).send(scimErrorBody(err.statusCode, err.message));
    }
    request.log.error({ err }, 'unhandled SCIM error');
    return reply.status(500).send(scimErrorBody(500, 'internal server error'));
  });
  scope.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .type(SCIM_CONTENT_TYPE)
      .send(scimErrorBody(404, `no SCIM endpoint ${request.method} ${request.url.split('?')[0]}`)),
  );
}
