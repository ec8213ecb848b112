// Metrics read at scrape time rather than counted as things happen: inbox depth,
// oldest-pending age and dead events per organization (the status query, bounded
// to the organizations needing attention most), BullMQ job counts per queue and
// state, and the age and lag of the Events API poll (from poll_cursors, whichever
// process polled). One scrape runs each read once, shared by every gauge, and a read
// that fails leaves its gauges empty and counts the failure instead of failing the
// scrape.
import type { JobType } from 'bullmq';
import { Counter, Gauge, type Registry } from 'prom-client';
import { toError, withTimeout } from '../common/errors.ts';
import type { Resources } from '../common/resources.ts';
import { type StatusSummary, statusSummary } from '../db/repositories/admin-views.repository.ts';
import {
  type OrganizationStatus,
  type OrganizationStatuses,
  organizationStatuses,
  type PollStatus,
  pollStatuses,
} from '../db/repositories/status.repository.ts';
import type { DirsyncQueues } from './queues.ts';

/** Per-organization series: the organizations with the largest backlog first. */
export const SCRAPED_ORGANIZATIONS = 100;
const READ_TIMEOUT_MS = 2_000;
const JOB_STATES: JobType[] = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'failed',
  'completed',
];

interface Snapshot {
  statuses?: OrganizationStatuses;
  summary?: StatusSummary;
  poll?: PollStatus[];
  queues?: Array<{ queue: string; counts: Record<string, number> }>;
}

type Gauger = <L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  fill: (gauge: Gauge<L>, snapshot: Snapshot, now: number) => void,
) => void;

export function registerScrapeMetrics(resources: Resources, queues: DirsyncQueues): void {
  const gauge = createGauger(resources.metrics.registry, snapshotReader(resources, queues));
  registerOrganizationGauges(gauge);
  registerPollAndQueueGauges(gauge);
}

/**
 * One scrape's reads, shared by every gauge (their collect() calls start in the same
 * tick); a read that fails counts in dirsync_metrics_read_failures_total.
 */
function snapshotReader(resources: Resources, queues: DirsyncQueues): () => Promise<Snapshot> {
  const { registry } = resources.metrics;
  const failures = replace(
    registry,
    'dirsync_metrics_read_failures_total',
    () =>
      new Counter({
        name: 'dirsync_metrics_read_failures_total',
        help: 'Scrape-time reads that failed (their gauges are left empty), by source.',
        labelNames: ['source'] as const,
        registers: [registry],
        // Serialised after this scrape's reads, so a failure shows in the same scrape.
        async collect() {
          await snapshot();
        },
      }),
  );
  const read = async <T>(source: string, run: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await withTimeout(run(), READ_TIMEOUT_MS, `metrics read of ${source}`);
    } catch (err) {
      failures.inc({ source });
      resources.logger.warn({ err: toError(err), source }, 'metrics read failed');
      return undefined;
    }
  };
  const load = async (): Promise<Snapshot> => {
    const [statuses, summary, poll, counts] = await Promise.all([
      read('postgres', () =>
        organizationStatuses(resources.db, { limit: SCRAPED_ORGANIZATIONS, seats: false }),
      ),
      read('postgres', () => statusSummary(resources.db)),
      read('postgres', () => pollStatuses(resources.db)),
      read('redis', () =>
        Promise.all(
          Object.entries(queues).map(async ([queue, q]) => ({
            queue,
            counts: await q.getJobCounts(...JOB_STATES),
          })),
        ),
      ),
    ]);
    return { statuses, summary, poll, queues: counts };
  };
  let inflight: Promise<Snapshot> | undefined;
  const snapshot = () => {
    inflight ??= load().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };
  return snapshot;
}

function createGauger(registry: Registry, snapshot: () => Promise<Snapshot>): Gauger {
  return (name, help, labelNames, fill) => {
    replace(
      registry,
      name,
      () =>
        new Gauge({
          name,
          help,
          labelNames,
          registers: [registry],
          async collect() {
            const data = await snapshot();
            this.reset();
            fill(this, data, Date.now());
          },
        }),
    );
  };
}

/**
 * Per-organization series for the organizations needing attention most, and beside
 * them unlabelled totals over every organization (sum() of the per-organization
 * series misses the rest).
 */
function registerOrganizationGauges(gauge: Gauger): void {
  gauge(
    'dirsync_organizations',
    'Known organizations (per-organization series cover the ones needing attention most).',
    [],
    (g, { statuses }) => statuses && g.set(statuses.total),
  );
  const totals: Array<[string, string, (s: StatusSummary) => number]> = [
    [
      'dirsync_organizations_needing_attention',
      'Organizations with pending or dead events, or paused.',
      (s) => s.needingAttention,
    ],
    [
      'dirsync_inbox_pending_events_all',
      'Inbox events waiting to be applied, every organization together.',
      (s) => s.pending,
    ],
    [
      'dirsync_inbox_dead_events_all',
      'Events parked as dead in the inbox, every organization together.',
      (s) => s.dead,
    ],
    ['dirsync_organizations_paused', 'Organizations paused by an operator.', (s) => s.paused],
  ];
  for (const [name, help, pick] of totals) {
    gauge(name, help, [], (g, { summary }) => summary && g.set(pick(summary)));
  }
  gauge(
    'dirsync_inbox_oldest_pending_age_seconds_max',
    'How long the longest-waiting pending event of any organization has waited.',
    [],
    (g, { statuses }) =>
      statuses &&
      g.set(Math.max(0, ...statuses.organizations.map((s) => s.oldestPendingAgeSeconds ?? 0))),
  );
  const perOrganization: Array<[string, string, (s: OrganizationStatus) => number]> = [
    [
      'dirsync_inbox_pending_events',
      'Inbox events waiting to be applied, per organization (top organizations).',
      (s) => s.pending,
    ],
    [
      'dirsync_inbox_oldest_pending_age_seconds',
      'How long the longest-waiting pending event has waited since it was received, per organization (top organizations).',
      (s) => s.oldestPendingAgeSeconds ?? 0,
    ],
    [
      'dirsync_inbox_dead_events',
      'Events parked as dead in the inbox (until replayed), per organization (top organizations).',
      (s) => s.dead,
    ],
    [
      'dirsync_organization_paused',
      'Whether draining of an organization is paused by an operator (1) or not (0) (top organizations).',
      (s) => (s.paused ? 1 : 0),
    ],
  ];
  for (const [name, help, pick] of perOrganization) {
    gauge(name, help, ['organization_id'], (g, { statuses }) => {
      for (const s of statuses?.organizations ?? []) {
        g.set({ organization_id: s.organizationId }, pick(s));
      }
    });
  }
}

function registerPollAndQueueGauges(gauge: Gauger): void {
  gauge(
    'dirsync_poll_age_seconds',
    'Time since the Events API poller last stored a page or found nothing new, per cursor.',
    ['cursor'],
    (g, { poll }, now) => {
      for (const p of poll ?? []) {
        g.set({ cursor: p.cursor }, Math.max(0, (now - p.polledAt.getTime()) / 1000));
      }
    },
  );
  gauge(
    'dirsync_poll_last_received_timestamp_seconds',
    'When the Events API poller last stored a page or found nothing new (Unix time), per cursor.',
    ['cursor'],
    (g, { poll }) => {
      for (const p of poll ?? []) g.set({ cursor: p.cursor }, p.polledAt.getTime() / 1000);
    },
  );
  gauge(
    'dirsync_poll_lag_seconds',
    'Time since the newest event the Events API poller has stored, per cursor.',
    ['cursor'],
    (g, { poll }, now) => {
      for (const p of poll ?? []) {
        if (!p.newestEventAt) continue;
        g.set({ cursor: p.cursor }, Math.max(0, (now - p.newestEventAt.getTime()) / 1000));
      }
    },
  );
  gauge(
    'dirsync_queue_jobs',
    'BullMQ jobs per queue and state.',
    ['queue', 'state'],
    (g, { queues: counts }) => {
      for (const { queue, counts: byState } of counts ?? []) {
        for (const state of JOB_STATES) g.set({ queue, state }, byState[state] ?? 0);
      }
    },
  );
}

/** Registers a metric, replacing one of the same name (a server rebuilt on the same registry). */
function replace<M>(registry: Registry, name: string, create: () => M): M {
  if (registry.getSingleMetric(name)) registry.removeSingleMetric(name);
  return create();
}
