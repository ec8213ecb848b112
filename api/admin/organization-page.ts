// One organization's page at /admin/organizations/:id: its state (every badge that
// applies), the actions as buttons, its directories, dead events, next pending
// events, recent changes (what its events and operators did) and its recent
// deprovisionings and revocations. An action's outcome comes back as ?done= or
// ?failed= (page-actions.ts redirects here) and is shown at the top.
import type { FastifyInstance } from 'fastify';
import { formatSeconds } from '../../common/durations.ts';
import type { Resources } from '../../common/resources.ts';
import {
  type ChangeEntry,
  type DirectoryView,
  organizationDirectories,
  type PendingEventView,
  pendingEvents,
  type RevocationEntry,
  recentChanges,
  recentRevocations,
} from '../../db/repositories/admin-views.repository.ts';
import { type DeadEvent, listDeadEvents } from '../../db/repositories/inbox.repository.ts';
import {
  type OrganizationStatus,
  organizationStatus,
} from '../../db/repositories/status.repository.ts';
import { AppError } from '../errors.ts';
import { actionButtons, badges, type Html, html, layout, time } from './html.ts';
import { deadRows, revocationRows } from './status-page.ts';

const SHOWN = 25;

/** What an action's redirect says; only these texts are shown (never the query's). */
const outcomes: Record<string, string> = {
  pause: 'Paused: its events wait until it is resumed.',
  resume: 'Resumed; a drain was triggered.',
  'replay-dead': 'Dead events replayed.',
  'replay-dead-paused':
    'Dead events replayed; they wait for the resume (the organization is paused).',
  'replay-dead-none': 'No dead events to replay.',
  resync: 'Resync queued; the worker reconciles it against WorkOS.',
  not_configured: 'Resync needs WORKOS_API_KEY.',
  unavailable: 'Could not queue the resync: Redis unreachable.',
};

interface PageData {
  status: OrganizationStatus;
  directories: DirectoryView[];
  dead: DeadEvent[];
  pending: PendingEventView[];
  changes: ChangeEntry[];
  revocations: RevocationEntry[];
  done?: string;
  failed?: string;
  readOnly: boolean;
  now: Date;
}

function flash(d: PageData): Html | string {
  if (d.failed && outcomes[d.failed]) return html`<p class="flash error">${outcomes[d.failed]}</p>`;
  if (d.done && outcomes[d.done]) return html`<p class="flash">${outcomes[d.done]}</p>`;
  return '';
}

function facts(s: OrganizationStatus, now: Date): Html {
  return html`<section class="strip" id="facts">
  <div class="card"><span class="n">${s.pending}</span>pending<small>oldest ${s.oldestPendingAgeSeconds === null ? '—' : formatSeconds(s.oldestPendingAgeSeconds)}</small></div>
  <div class="card ${s.dead > 0 ? 'bad' : ''}"><span class="n">${s.dead}</span>dead events</div>
  <div class="card"><span class="n">${s.activeSeats ?? '—'}</span>active seats</div>
  <div class="card ${s.paused ? 'warn' : ''}"><span class="n">${s.paused ? 'paused' : 'no'}</span>paused<small>${s.pausedAt ? time(s.pausedAt, now) : ''}</small></div>
  <div class="card"><span class="n">${time(s.lastAppliedAt, now)}</span>last applied<small><code>${s.lastAppliedEventId ?? ''}</code></small></div>
  <div class="card"><span class="n">${time(s.lastReconciledAt, now)}</span>last reconcile</div>
</section>`;
}

const rows = <T>(items: T[], columns: number, row: (item: T) => Html) =>
  items.length === 0
    ? html`<tr><td colspan="${columns}" class="muted">none</td></tr>`
    : html`${items.map(row)}`;

export function renderOrganizationPage(d: PageData): string {
  const { status: s, now } = d;
  return layout(
    `${s.organizationId} · dirsync`,
    d.readOnly,
    html`<p><a href="/admin">← all organizations</a></p>
<h1><code>${s.organizationId}</code> ${badges(s)}</h1>
${flash(d)}<div>${actionButtons(s, d.readOnly)}</div>
${facts(s, now)}
<h2>Directories</h2>
<table id="directories"><thead><tr><th>directory</th><th>name</th><th>type</th><th>state</th><th>active users</th><th>groups</th></tr></thead>
<tbody>${rows(
      d.directories,
      6,
      (x) => html`<tr><td><code>${x.id}</code></td><td>${x.name ?? ''}</td><td>${x.type ?? ''}</td>
  <td>${x.deletedAt ? html`deleted ${time(x.deletedAt, now)}` : x.state}</td><td class="num">${x.activeUsers}</td><td class="num">${x.groups}</td></tr>`,
    )}</tbody></table>
<div class="columns"><div>
<h2>Dead events</h2>
<table id="dead-events"><thead><tr><th>organization</th><th>event</th><th>type</th><th>occurred</th><th>attempts</th></tr></thead>
<tbody>${deadRows(d.dead, now)}</tbody></table>
<p class="muted">Errors: <code>dirsync dead list --org ${s.organizationId}</code>.</p>
</div><div>
<h2>Next pending events</h2>
<table id="pending-events"><thead><tr><th>event</th><th>type</th><th>occurred</th><th>received</th><th>attempts</th></tr></thead>
<tbody>${rows(
      d.pending,
      5,
      (
        e,
      ) => html`<tr><td><code>${e.eventId}</code></td><td>${e.eventType}</td><td>${time(e.occurredAt, now)}</td>
  <td>${time(e.receivedAt, now)}</td><td class="num">${e.attempts}</td></tr>`,
    )}</tbody></table>
</div></div>
<h2>Recent deprovisionings and revocations</h2>
<table id="revocations"><thead><tr><th>when</th><th>organization</th><th>what</th><th>user</th><th>event</th></tr></thead>
<tbody>${revocationRows(d.revocations, now)}</tbody></table>
<h2>Recent events and operator actions</h2>
<table id="changes"><thead><tr><th>when</th><th>action</th><th>subject</th><th>event</th></tr></thead>
<tbody>${rows(
      d.changes,
      4,
      (c) => html`<tr><td>${time(c.at, now)}</td><td>${c.action}</td>
  <td>${c.subjectType} <code>${c.subjectId}</code></td><td><code class="muted">${c.eventId}</code></td></tr>`,
    )}</tbody></table>`,
  );
}

export function registerOrganizationPage(scope: FastifyInstance, resources: Resources): void {
  const { db } = resources;
  scope.get<{
    Params: { organizationId: string };
    Querystring: { done?: string; failed?: string };
  }>('/organizations/:organizationId', async (request, reply) => {
    const { organizationId } = request.params;
    const status = await organizationStatus(db, organizationId);
    if (!status) throw new AppError(404, 'not_found', `unknown organization ${organizationId}`);
    const [directories, dead, pending, changes, revocations] = await Promise.all([
      organizationDirectories(db, organizationId),
      listDeadEvents(db, { organizationId, limit: SHOWN }),
      pendingEvents(db, organizationId, SHOWN),
      recentChanges(db, organizationId, SHOWN),
      recentRevocations(db, { organizationId, limit: SHOWN }),
    ]);
    const page = renderOrganizationPage({
      status,
      directories,
      dead,
      pending,
      changes,
      revocations,
      done: request.query.done,
      failed: request.query.failed,
      readOnly: resources.config.ADMIN_READ_ONLY,
      now: new Date(),
    });
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page);
  });
}
