// The status page at /admin: one server-rendered HTML page (no build step) listing
// organizations with their backlog and failures, and a link to the queue
// dashboard. Ids, counts and times only: no personal data, and no error texts
// (they may quote payload values); those are in the JSON API and `dirsync dead list`.
import type { FastifyInstance } from 'fastify';
import { formatAgo, formatSeconds } from '../../common/durations.ts';
import type { Resources } from '../../common/resources.ts';
import { type DeadEvent, listDeadEvents } from '../../db/repositories/inbox.repository.ts';
import {
  type OrganizationState,
  type OrganizationStatuses,
  organizationStatuses,
  type PollStatus,
  pollStatuses,
} from '../../db/repositories/status.repository.ts';
import { QUEUE_DASHBOARD_PATH } from './queue-dashboard.ts';

const SHOWN_ORGANIZATIONS = 500;
const SHOWN_DEAD_EVENTS = 25;
/** A backlog waiting longer than this is highlighted. */
const SLOW_SECONDS = 300;

const badges: Record<OrganizationState, string> = {
  dead_events: 'bad',
  paused: 'warn',
  catching_up: 'warn',
  in_sync: 'ok',
};

const entities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => entities[c] ?? c);
}

/** A template tag that escapes every interpolated value unless it is already `Html`. */
class Html {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
}

function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  const render = (v: unknown): string =>
    v instanceof Html ? v.value : Array.isArray(v) ? v.map(render).join('') : escapeHtml(v);
  return new Html(
    strings.reduce((out, s, i) => out + s + (i < values.length ? render(values[i]) : ''), ''),
  );
}

const time = (at: Date | null, now: Date, never = 'never') =>
  at
    ? html`<time datetime="${at.toISOString()}" title="${at.toISOString()}">${formatAgo(at, now)}</time>`
    : never;

const styles = `
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1f2328; background: #fff; }
  h1 { font-size: 1.4rem; margin: 0 0 .25rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
  nav a { margin-right: 1rem; } .muted { color: #656d76; }
  .summary span { display: inline-block; margin-right: 1.5rem; }
  table { border-collapse: collapse; margin-top: .75rem; min-width: 60%; }
  th, td { padding: .35rem .7rem; border-bottom: 1px solid #d0d7de; text-align: left; white-space: nowrap; }
  th { background: #f6f8fa; font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
  tr.dead td { background: #ffebe9; } tr.slow td { background: #fff8c5; } tr.paused td { color: #656d76; }
  .badge { padding: 0 .4rem; border-radius: 1rem; font-size: .8rem; }
  .badge.bad { background: #cf222e; color: #fff; } .badge.warn { background: #bf8700; color: #fff; }
  .badge.ok { background: #1a7f37; color: #fff; }
  code { font-size: .9em; }
`;

interface PageData {
  statuses: OrganizationStatuses;
  poll: PollStatus[];
  dead: DeadEvent[];
  readOnly: boolean;
  now: Date;
}

function organizationRows({ statuses, now }: PageData): Html {
  if (statuses.organizations.length === 0) {
    return html`<tr><td colspan="9" class="muted">no organizations yet</td></tr>`;
  }
  return html`${statuses.organizations.map((s) => {
    const waited = s.oldestPendingAgeSeconds ?? 0;
    const rowClass =
      s.dead > 0 ? 'dead' : waited > SLOW_SECONDS ? 'slow' : s.paused ? 'paused' : '';
    const state = html`<span class="badge ${badges[s.state]}">${s.state.replace('_', ' ')}</span>`;
    return html`<tr class="${rowClass}" data-organization="${s.organizationId}">
      <td><code>${s.organizationId}</code></td>
      <td>${state}</td>
      <td class="num">${s.activeSeats ?? '—'}</td>
      <td class="num">${s.pending}</td>
      <td>${s.oldestPendingAgeSeconds === null ? '—' : formatSeconds(s.oldestPendingAgeSeconds)}</td>
      <td class="num">${s.dead}</td>
      <td>${s.pausedAt ? time(s.pausedAt, now) : 'no'}</td>
      <td>${time(s.lastAppliedAt, now)}${s.lastAppliedEventId ? html`<br><code class="muted">${s.lastAppliedEventId}</code>` : ''}</td>
      <td>${time(s.lastReconciledAt, now)}</td>
    </tr>`;
  })}`;
}

function deadRows({ dead, now }: PageData): Html {
  if (dead.length === 0) return html`<tr><td colspan="5" class="muted">no dead events</td></tr>`;
  return html`${dead.map(
    (e) => html`<tr>
      <td><code>${e.organization_id ?? '—'}</code></td>
      <td><code>${e.event_id}</code></td>
      <td>${e.event_type}</td>
      <td>${time(e.occurred_at, now)}</td>
      <td class="num">${e.attempts}</td>
    </tr>`,
  )}`;
}

export function renderStatusPage(data: PageData): string {
  const { statuses, poll, now } = data;
  const orgs = statuses.organizations;
  const behind = orgs.filter((s) => s.pending > 0).length;
  const failing = orgs.filter((s) => s.dead > 0).length;
  const paused = orgs.filter((s) => s.paused).length;
  const shown =
    statuses.total > orgs.length ? ` (showing the ${orgs.length} needing attention first)` : '';
  const polling =
    poll.length === 0
      ? html`<span class="muted">Events API polling: never ran</span>`
      : poll.map(
          (p) =>
            html`<span>Events API poll <code>${p.cursor}</code>: last ${time(p.polledAt, now)}, newest event ${time(p.newestEventAt, now, 'none')}</span> `,
        );
  return html`<!doctype html>
<html lang="en"><head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="30">
<title>dirsync status</title><style>${new Html(styles)}</style>
</head><body>
<h1>dirsync status${data.readOnly ? ' (read-only)' : ''}</h1>
<nav><a href="${QUEUE_DASHBOARD_PATH}">Queue dashboard</a><a href="/admin/api/organizations">JSON</a><a href="/metrics">Metrics</a></nav>
<p class="summary">
  <span><strong>${statuses.total}</strong> organizations${shown}</span>
  <span><strong>${behind}</strong> with pending events</span>
  <span><strong>${failing}</strong> with dead events</span>
  <span><strong>${paused}</strong> paused</span>
</p>
<p class="muted">${polling}</p>
<h2>Organizations</h2>
<table id="organizations">
<thead><tr><th>organization</th><th>state</th><th>active seats</th><th>pending</th><th>oldest pending</th><th>dead</th><th>paused</th><th>last applied</th><th>last reconcile</th></tr></thead>
<tbody>${organizationRows(data)}</tbody>
</table>
<h2>Dead events</h2>
<p class="muted">Errors: <code>GET /admin/api/dead-events</code> or <code>dirsync dead list</code>. Replay: <code>dirsync replay</code>.</p>
<table id="dead-events">
<thead><tr><th>organization</th><th>event</th><th>type</th><th>occurred</th><th>attempts</th></tr></thead>
<tbody>${deadRows(data)}</tbody>
</table>
<p class="muted">Rendered ${now.toISOString()}; refreshes every 30 s.</p>
</body></html>
`.value;
}

export function registerStatusPage(scope: FastifyInstance, resources: Resources): void {
  scope.get('/', async (_request, reply) => {
    const [statuses, poll, dead] = await Promise.all([
      organizationStatuses(resources.db, { limit: SHOWN_ORGANIZATIONS }),
      pollStatuses(resources.db),
      listDeadEvents(resources.db, { limit: SHOWN_DEAD_EVENTS }),
    ]);
    const page = renderStatusPage({
      statuses,
      poll,
      dead,
      readOnly: resources.config.ADMIN_READ_ONLY,
      now: new Date(),
    });
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page);
  });
}
