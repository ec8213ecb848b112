// The worker's own scrape target, for a worker running without the API in its
// process (`npm run start:worker`, the docker-compose worker): GET /metrics with
// what this process counts (events applied, apply and revocation latencies, dead
// events) and GET /healthz. Plain node:http, so a worker does not load Fastify.
// What is read from Postgres and Redis at scrape time (inbox depth, poll lag, queue
// counts) is the API's /metrics; reading it here too would double every series.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { toError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';

export interface MetricsServer {
  /** `http://host:port`. */
  address: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

const json = (value: unknown) => JSON.stringify(value);

async function answer(registry: Registry, req: IncomingMessage, res: ServerResponse) {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics' && path !== '/healthz') {
    return send(
      res,
      404,
      'application/json',
      json({ error: { code: 'not_found', message: `no route for ${req.method} ${path}` } }),
    );
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(
      res,
      405,
      'application/json',
      json({ error: { code: 'method_not_allowed', message: `${path} answers GET` } }),
    );
  }
  if (path === '/healthz') return send(res, 200, 'application/json', json({ status: 'ok' }));
  return send(res, 200, registry.contentType, await registry.metrics());
}

export async function startMetricsServer(
  registry: Registry,
  logger: Logger,
  listen: { host: string; port: number },
): Promise<MetricsServer> {
  const log = logger.child({ component: 'metrics-server' });
  const server = createServer((req, res) => {
    answer(registry, req, res).catch((err: unknown) => {
      log.error({ err: toError(err) }, 'metrics request failed');
      if (!res.headersSent) {
        send(
          res,
          500,
          'application/json',
          json({ error: { code: 'internal', message: 'internal server error' } }),
        );
      } else res.destroy();
    });
  });
  // A scraper's keep-alive connection must not hold a shutdown open.
  server.keepAliveTimeout = 5_000;
  server.listen(listen.port, listen.host);
  await once(server, 'listening');
  const { address, port, family } = server.address() as AddressInfo;
  const host = family === 'IPv6' ? `[${address}]` : address;
  return {
    address: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
