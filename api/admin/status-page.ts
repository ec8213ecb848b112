// The status page at /admin: a summary strip (organizations needing attention,
// pending, dead, paused, time to revoke, webhook health), the organizations needing
// attention first with search and paging (one page of 50 rows whatever their
// number), their actions as buttons, and the recent deprovisionings, revocations and
// dead events. Each organization's own page is organization-page.ts.
import type { FastifyInstance } from 'fastify';
import { formatSeconds } from '../../common/durations.ts';
import type { Resources } from '../../common/resources.ts';
import {
  type RevocationEntry,
  type RevokeTimes,
  recentRevocations,
  revokeTimes,
  type StatusSummary,
  statusSummary,
} from '../../db/repositories/admin-views.repository.ts';
import { type DeadEvent, listDeadEvents } from '../../db/repositories/inbox.repository.ts';
import {
  type OrganizationStatuses,
  organizationStatuses,
  type PollStatus,
  pollStatuses,
} from '../../db/repositories/status.repository.ts';
import { actionButtons, badges, type Html, html, layout, organizationPath, time } from './html.ts';
import { type WebhookHealth, webhookHealth } from './webhook-health.ts';

export const PAGE_SIZE = 50;
const SHOWN_DEAD_EVENTS = 20;
const SHOWN_REVOCATIONS = 20;
/** Time to revoke is measured over this many hours. */
const REVOKE_WINDOW_HOURS = 24;

interface PageData {
  summary: StatusSummary;
  statuses: OrganizationStatuses;
  search: string;
  page: number;
  poll: PollStatus[];
  dead: DeadEvent[];
  revocations: RevocationEntry[];
  revoke: RevokeTimes;
  webhooks: WebhookHealth;
  readOnly: boolean;
  now: Date;
}

const card = (kind: string, n: unknown, label: string, note?: Html | string) =>
  html`<div class="card ${kind}"><span class="n">${n}</span>${label}${note ? html`<small>${note}</small>` : ''}</div>`;

function summaryStrip(d: PageData): Html {
  const { summary: s, revoke, webhooks, now } = d;
  const rejected = webhooks.rejected.length
    ? webhooks.rejected.map((r) => html`${r.status} ${r.reason}: ${r.count}<br>`)
    : html`no refused deliveries<br>`;
  const polls = d.poll.length
    ? d.poll.map((p) => html`Events API ${p.cursor}: ${time(p.polledAt, now)}<br>`)
    : 'Events API: never polled';
  return html`<section class="strip" id="summary">
  ${card(s.needingAttention > 0 ? 'warn' : '', s.needingAttention, ' needing attention', `of ${s.organizations} organizations`)}
  ${card(s.pending > 0 ? 'warn' : '', s.pending, ' pending events', `in ${s.withPending} organizations`)}
  ${card(s.dead > 0 ? 'bad' : '', s.dead, ' dead events', `in ${s.withDead} organizations`)}
  ${card(s.paused > 0 ? 'warn' : '', s.paused, ' paused')}
  ${card('', revoke.p99Seconds === null ? '—' : formatSeconds(revoke.p99Seconds), ' time to revoke p99', `${revoke.count} revocations, last ${REVOKE_WINDOW_HOURS} h`)}
  ${card(webhooks.rejected.length ? 'warn' : '', webhooks.lastReceivedAt ? time(webhooks.lastReceivedAt, now) : 'none', ' last webhook', html`${rejected}${polls}this process since ${time(webhooks.since, now)}`)}
</section>`;
}

function searchForm(d: PageData): Html {
  return html`<form class="search" method="get" action="/admin">
  <input type="search" name="q" value="${d.search}" placeholder="organization id contains…" aria-label="search organizations">
  <button type="submit">Search</button>${d.search ? html` <a href="/admin">clear</a>` : ''}
</form>`;
}

function pager(d: PageData): Html {
  const { total } = d.statuses;
  const first = total === 0 ? 0 : (d.page - 1) * PAGE_SIZE + 1;
  const last = Math.min(total, d.page * PAGE_SIZE);
  const link = (page: number) =>
    `/admin?${new URLSearchParams({ ...(d.search ? { q: d.search } : {}), page: String(page) })}`;
  return html`<div class="pager"><span>${first}–${last} of ${total}</span>
  ${d.page > 1 ? html`<a rel="prev" href="${link(d.page - 1)}">← previous</a>` : ''}
  ${last < total ? html`<a rel="next" href="${link(d.page + 1)}">next →</a>` : ''}</div>`;
}

function organizationRows(d: PageData): Html {
  const { organizations } = d.statuses;
  if (organizations.length === 0) {
    return html`<tr><td colspan="8" class="muted">${d.search ? 'no organization matches' : 'no organizations yet'}</td></tr>`;
  }
  return html`${organizations.map(
    (
      s,
    ) => html`<tr class="${s.dead > 0 ? 'dead' : s.paused ? 'paused' : ''}" data-organization="${s.organizationId}">
      <td><a href="${organizationPath(s.organizationId)}"><code>${s.organizationId}</code></a></td>
      <td>${badges(s)}</td>
      <td class="num">${s.pending}</td>
      <td>${s.oldestPendingAgeSeconds === null ? '—' : formatSeconds(s.oldestPendingAgeSeconds)}</td>
      <td class="num">${s.dead}</td>
      <td>${time(s.lastAppliedAt, d.now)}</td>
      <td>${time(s.lastReconciledAt, d.now)}</td>
      <td>${actionButtons(s, d.readOnly)}</td>
    </tr>`,
  )}`;
}

export function revocationRows(entries: RevocationEntry[], now: Date): Html {
  if (entries.length === 0) return html`<tr><td colspan="5" class="muted">none yet</td></tr>`;
  return html`${entries.map(
    (e) => html`<tr><td>${time(e.at, now)}</td>
      <td><a href="${organizationPath(e.organizationId)}"><code>${e.organizationId}</code></a></td>
      <td>${e.action === 'sessions_revoked' ? `${e.sessions ?? '?'} sessions revoked` : `deprovisioned (${e.reason ?? 'user'})`}</td>
      <td><code>${e.userId}</code></td><td><code class="muted">${e.eventId}</code></td></tr>`,
  )}`;
}

export function deadRows(dead: DeadEvent[], now: Date): Html {
  if (dead.length === 0) return html`<tr><td colspan="5" class="muted">no dead events</td></tr>`;
  return html`${dead.map(
    (e) => html`<tr>
      <td>${e.organization_id ? html`<a href="${organizationPath(e.organization_id)}"><code>${e.organization_id}</code></a>` : '—'}</td>
      <td><code>${e.event_id}</code></td><td>${e.event_type}</td>
      <td>${time(e.occurred_at, now)}</td><td class="num">${e.attempts}</td></tr>`,
  )}`;
}

export function renderStatusPage(d: PageData): string {
  return layout(
    'dirsync status',
    d.readOnly,
    html`<h1>dirsync status${d.readOnly ? ' (read-only)' : ''}</h1>
${summaryStrip(d)}
<h2>Organizations</h2>
${searchForm(d)}${pager(d)}
<table id="organizations">
<thead><tr><th>organization</th><th>state</th><th>pending</th><th>oldest pending</th><th>dead</th><th>last applied</th><th>last reconcile</th><th>actions</th></tr></thead>
<tbody>${organizationRows(d)}</tbody></table>
<div class="columns"><div>
<h2>Recent deprovisionings and revocations</h2>
<table id="revocations"><thead><tr><th>when</th><th>organization</th><th>what</th><th>user</th><th>event</th></tr></thead>
<tbody>${revocationRows(d.revocations, d.now)}</tbody></table>
</div><div>
<h2>Dead events</h2>
<table id="dead-events"><thead><tr><th>organization</th><th>event</th><th>type</th><th>occurred</th><th>attempts</th></tr></thead>
<tbody>${deadRows(d.dead, d.now)}</tbody></table>
<p class="muted">Errors: <code>GET /admin/api/dead-events</code> or <code>dirsync dead list</code>.</p>
</div></div>
<p class="muted">Rendered ${d.now.toISOString()}.</p>`,
  );
}

interface StatusQuery {
  q?: string;
  page?: number;
}

export function registerStatusPage(scope: FastifyInstance, resources: Resources): void {
  const { db } = resources;
  scope.get<{ Querystring: StatusQuery }>(
    '/',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            q: { type: 'string', maxLength: 200 },
            page: { type: 'integer', minimum: 1, maximum: 100_000 },
          },
        },
      },
    },
    async (request, reply) => {
      const search = request.query.q?.trim() ?? '';
      const page = request.query.page ?? 1;
      const [summary, statuses, poll, dead, revocations, revoke, webhooks] = await Promise.all([
        statusSummary(db),
        organizationStatuses(db, {
          search: search || undefined,
          limit: PAGE_SIZE,
          offset: (page - 1) * PAGE_SIZE,
          seats: false,
        }),
        pollStatuses(db),
        listDeadEvents(db, { limit: SHOWN_DEAD_EVENTS }),
        recentRevocations(db, { limit: SHOWN_REVOCATIONS }),
        revokeTimes(db, REVOKE_WINDOW_HOURS),
        webhookHealth(resources.metrics),
      ]);
      const body = renderStatusPage({
        summary,
        statuses,
        search,
        page,
        poll,
        dead,
        revocations,
        revoke,
        webhooks,
        readOnly: resources.config.ADMIN_READ_ONLY,
        now: new Date(),
      });
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
    },
  );
}
