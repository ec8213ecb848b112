// The receiver a user would write instead of dirsync, for bench:ingest to compare
// with: node:http, the WorkOS SDK's constructEvent on the raw body, one INSERT per
// request on a pg pool of the same size, answer 200. Run as its own process (as
// the API is); prints `{"address": …}` once listening. Configuration from the
// environment: DATABASE_URL, DATABASE_SCHEMA, DATABASE_POOL_MAX, WORKOS_WEBHOOK_SECRET.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WorkOS } from '@workos-inc/node';
import pg from 'pg';

const env = process.env;
const schema = env.DATABASE_SCHEMA ?? 'dirsync';
const secret = env.WORKOS_WEBHOOK_SECRET ?? '';
const pool = new pg.Pool({
  connectionString: env.DATABASE_URL,
  max: Number(env.DATABASE_POOL_MAX ?? 10),
});
const webhooks = new WorkOS({ clientId: 'naive-receiver' }).webhooks;
const insert = `insert into ${pg.escapeIdentifier(schema)}.inbox
    (event_id, organization_id, event_type, occurred_at, source, payload, status)
  values ($1, $2, $3, $4, 'webhook', $5, 'pending')
  on conflict (event_id) do nothing`;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', async () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    try {
      const event = (await webhooks.constructEvent({
        payload: raw,
        sigHeader: String(req.headers['workos-signature'] ?? ''),
        secret,
      })) as { id: string; event: string; createdAt?: string };
      const data = JSON.parse(raw) as { data?: { organization_id?: string }; created_at: string };
      await pool.query(insert, [
        event.id,
        data.data?.organization_id ?? null,
        event.event,
        new Date(data.created_at),
        raw,
      ]);
      res.writeHead(200, { 'x-request-id': String(req.headers['x-request-id'] ?? '') });
      res.end();
    } catch (err) {
      res.writeHead((err as Error).name === 'SignatureVerificationException' ? 401 : 500);
      res.end();
    }
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(
    `${JSON.stringify({ msg: 'naive receiver started', address: `http://127.0.0.1:${port}` })}\n`,
  );
});
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  pool.end().then(() => process.exit(0));
});
