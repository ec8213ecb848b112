// Prometheus metrics of one dirsync process (prom-client), counted as things happen.
// Defined here once so the api and the worker count the same things under the same
// names. Labels never hold personal data; organization ids are the only per-tenant
// label. What is read from Postgres or Redis at scrape time (inbox depth, poll lag,
// queue counts) is api/scrape-metrics.ts: a gauge set by the poller would read 0 in
// every process that did not poll.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import packageJson from '../package.json' with { type: 'json' };

export function createMetrics() {
  const registry = new Registry();
  // Node's own metrics already start with process_ or nodejs_: dirsync_process_cpu_…
  collectDefaultMetrics({ register: registry, prefix: 'dirsync_' });
  new Gauge({
    name: 'dirsync_build_info',
    help: 'Always 1; the labels say which dirsync and Node.js run.',
    labelNames: ['version', 'node'] as const,
    registers: [registry],
  }).set({ version: packageJson.version, node: process.versions.node }, 1);
  return {
    registry,
    webhooks: new Counter({
      name: 'dirsync_webhooks_total',
      help: 'Webhook deliveries by outcome (accepted, duplicate, ignored, rejected_<status>); a rejection has a reason (the signature failure, or the error code).',
      labelNames: ['outcome', 'reason'] as const,
      registers: [registry],
    }),
    webhookLastReceived: new Gauge({
      name: 'dirsync_webhook_last_received_timestamp_seconds',
      help: 'When this process last stored a webhook delivery (Unix time); the Events API is dirsync_poll_*.',
      registers: [registry],
    }),
    eventsIngested: new Counter({
      name: 'dirsync_events_ingested_total',
      help: 'Events stored in the inbox, by source and whether they were new.',
      labelNames: ['source', 'result'] as const,
      registers: [registry],
    }),
    eventsApplied: new Counter({
      name: 'dirsync_events_applied_total',
      help: 'Events applied by the drain, by event type and outcome (applied, stale, ignored, dead).',
      labelNames: ['type', 'outcome'] as const,
      registers: [registry],
    }),
    applyLatency: new Histogram({
      name: 'dirsync_apply_batch_seconds',
      help: "Time to apply one batch of an organization's events (one transaction).",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    revocationLatency: new Histogram({
      name: 'dirsync_event_to_revocation_seconds',
      help: 'From an event being received to the sessions it deprovisions being revoked.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    sessionsRevoked: new Counter({
      name: 'dirsync_sessions_revoked_total',
      help: 'Sessions revoked by deprovisioning.',
      registers: [registry],
    }),
    revocationsRelayed: new Counter({
      name: 'dirsync_revocations_relayed_total',
      help: 'Revocation messages sent from the outbox to Redis (a redelivery counts again).',
      registers: [registry],
    }),
    revocationPublishFailures: new Counter({
      name: 'dirsync_revocation_publish_failures_total',
      help: 'Relay passes that could not send revocation messages to Redis (retried).',
      registers: [registry],
    }),
    revocationDeliveryLatency: new Histogram({
      name: 'dirsync_event_to_revocation_delivered_seconds',
      help: 'From an event being received to its revocation message being sent to Redis.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    deadEvents: new Counter({
      name: 'dirsync_dead_events_total',
      help: 'Events parked as dead after failing past the attempt limit.',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
