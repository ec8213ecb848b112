// Operator authentication for /admin and /admin/queues. The credentials are the
// named tokens of ADMIN_TOKENS and ADMIN_TOKEN (named `admin`), each given as
// `Authorization: Bearer <token>` (scripts) or as the password of HTTP basic auth with
// any user name (browsers: the 401 carries `WWW-Authenticate: Basic` so a browser
// shows its login prompt). The token decides who the operator is (its name goes into
// the audit log), never the basic-auth user name, which anyone can type. Replies are sent
// from the hook rather than thrown, because Bull Board installs its own error
// handler in its scope and would turn a thrown 401 into a 500.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OperatorCredential } from '../../common/config.ts';
import { errorBody } from '../errors.ts';

const CHALLENGE = 'Basic realm="dirsync", charset="UTF-8"';

/** The credential an `Authorization` header carries, whichever scheme. */
export function presentedCredential(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.trim().split(/\s+/, 2);
  if (!scheme || !value) return undefined;
  switch (scheme.toLowerCase()) {
    case 'bearer':
      return value;
    case 'basic': {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon === -1 ? undefined : decoded.slice(colon + 1);
    }
    default:
      return undefined;
  }
}

// Comparing fixed-length digests keeps the time independent of where the strings
// differ and of their lengths.
const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export function credentialMatches(presented: string | undefined, token: string): boolean {
  if (presented === undefined) return false;
  return timingSafeEqual(digest(presented), digest(token));
}

const operators = new WeakMap<FastifyRequest, string>();

/** The name of the operator whose credential authenticated the request. */
export function operatorOf(request: FastifyRequest): string {
  const name = operators.get(request);
  if (!name) throw new Error('operatorOf: the request was not authenticated');
  return name;
}

/** The credential presented, compared with every one (no early exit: constant work). */
function matchingOperator(
  presented: string | undefined,
  credentials: readonly OperatorCredential[],
): string | undefined {
  let name: string | undefined;
  for (const c of credentials) if (credentialMatches(presented, c.token)) name ??= c.name;
  return name;
}

/** An onRequest hook that answers 401 unless the request carries an operator's token. */
export function requireAdminToken(credentials: readonly OperatorCredential[]) {
  return async (
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | undefined> => {
    const name = matchingOperator(presentedCredential(request.headers.authorization), credentials);
    if (name) {
      operators.set(request, name);
      return;
    }
    request.log.info({ url: request.url.split('?')[0] }, 'admin request refused: bad credential');
    return reply
      .status(401)
      .header('www-authenticate', CHALLENGE)
      .header('cache-control', 'no-store')
      .send(
        errorBody(
          'unauthorized',
          'operator credential required: Bearer token, or basic auth with the token as password',
        ),
      );
  };
}

const safe = (method: string) => method === 'GET' || method === 'HEAD';

/**
 * Whether a browser says the request comes from a page of this origin. Fetch
 * metadata first (every current browser sends it): `same-origin`, or `none` for
 * what the user did (typed a URL, a bookmark). Else the `Origin` header, whose
 * host must be the one the request was sent to.
 */
export function fromSameOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin' || site === 'none';
  const origin = request.headers.origin;
  if (typeof origin !== 'string' || origin === 'null') return false;
  try {
    const from = new URL(origin);
    // Through URL both sides drop a default port (`Host: example.com:443`).
    return from.host === new URL(`${from.protocol}//${request.host}`).host;
  } catch {
    return false;
  }
}

/**
 * An onRequest hook (after authentication) against cross-site request forgery.
 * A browser sends cached basic credentials with any request to this origin, a
 * cross-site form post too (Fastify parses text/plain bodies), so a change made
 * with basic auth must come from a page of this origin. Bearer tokens are never
 * added by a browser on its own, so scripts using them are not asked.
 */
export function refuseCrossSiteChanges() {
  return async (
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | undefined> => {
    if (safe(request.method)) return;
    const scheme = request.headers.authorization?.trim().split(/\s+/, 1)[0]?.toLowerCase();
    if (scheme !== 'basic' || fromSameOrigin(request)) return;
    request.log.warn(
      {
        url: request.url.split('?')[0],
        origin: request.headers.origin,
        secFetchSite: request.headers['sec-fetch-site'],
      },
      'admin change refused: not from this origin',
    );
    return reply
      .status(403)
      .send(
        errorBody(
          'cross_site',
          'a change with basic auth must come from a page of this origin (Origin or Sec-Fetch-Site); scripts use Authorization: Bearer',
        ),
      );
  };
}

/** An onRequest hook (first) that forbids framing any admin page (clickjacking). */
export function denyFraming() {
  return async (_request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    reply.header('content-security-policy', "frame-ancestors 'none'");
    reply.header('x-frame-options', 'DENY');
  };
}

/** An onRequest hook that refuses every change (anything but GET/HEAD) in read-only mode. */
export function refuseChanges() {
  return async (
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | undefined> => {
    if (safe(request.method)) return;
    return reply
      .status(403)
      .send(errorBody('read_only', 'the admin surface is read-only (ADMIN_READ_ONLY=true)'));
  };
}
