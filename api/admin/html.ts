// Server-rendered HTML for the admin pages (no build step, no client framework): an
// escaping template tag, the shared layout and styles, and small pieces (times,
// badges, action buttons). Ids, counts and times only: no personal data, and no
// error texts (they may quote payload values); those are in the JSON API and CLI.
import { formatAgo } from '../../common/durations.ts';
import type { OrganizationStatus } from '../../db/repositories/status.repository.ts';
import { QUEUE_DASHBOARD_PATH } from './queue-dashboard.ts';

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

/** Markup already escaped; the `html` tag inserts it as is. */
export class Html {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
}

/** A template tag that escapes every interpolated value unless it is already `Html`. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  const render = (v: unknown): string =>
    v instanceof Html ? v.value : Array.isArray(v) ? v.map(render).join('') : escapeHtml(v);
  return new Html(
    strings.reduce((out, s, i) => out + s + (i < values.length ? render(values[i]) : ''), ''),
  );
}

export const time = (at: Date | null, now: Date, never = 'never') =>
  at
    ? html`<time datetime="${at.toISOString()}" title="${at.toISOString()}">${formatAgo(at, now)}</time>`
    : never;

export const organizationPath = (id: string) => `/admin/organizations/${encodeURIComponent(id)}`;

/** Every word that applies: a paused organization with dead events shows both. */
export function badges(s: OrganizationStatus): Html {
  const words: Array<[string, string]> = [];
  if (s.dead > 0) words.push(['bad', `${s.dead} dead`]);
  if (s.paused) words.push(['warn', 'paused']);
  if (s.pending > 0 && !s.paused) words.push(['warn', 'catching up']);
  if (words.length === 0) words.push(['ok', 'in sync']);
  return html`${words.map(([kind, word]) => html`<span class="badge ${kind}">${word}</span> `)}`;
}

export type OrganizationAction = 'pause' | 'resume' | 'replay-dead' | 'resync';

const actionLabels: Record<OrganizationAction, string> = {
  pause: 'Pause',
  resume: 'Resume',
  'replay-dead': 'Replay dead',
  resync: 'Resync',
};

/**
 * One form per action, posted to /admin/organizations/:id/<action> (the same-origin
 * guard of the admin scope applies). None in read-only mode.
 */
export function actionButtons(s: OrganizationStatus, readOnly: boolean): Html | string {
  if (readOnly) return '';
  const actions: OrganizationAction[] = [s.paused ? 'resume' : 'pause'];
  if (s.dead > 0) actions.push('replay-dead');
  actions.push('resync');
  return html`<span class="actions">${actions.map(
    (a) =>
      html`<form method="post" action="${organizationPath(s.organizationId)}/${a}"><button type="submit" name="action" value="${a}" data-action="${a}">${actionLabels[a]}</button></form>`,
  )}</span>`;
}

const styles = `
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
  header { background: #24292f; color: #fff; padding: .6rem 1.5rem; display: flex; gap: 1.5rem; align-items: baseline; }
  header a { color: #fff; text-decoration: none; } header strong { font-size: 1.1rem; }
  main { padding: 1rem 1.5rem 2rem; max-width: 1400px; }
  h1 { font-size: 1.3rem; margin: .5rem 0; } h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
  a { color: #0969da; } .muted { color: #656d76; }
  .strip { display: flex; flex-wrap: wrap; gap: .75rem; margin: .75rem 0; }
  .card { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem .9rem; min-width: 9rem; }
  .card .n { font-size: 1.4rem; font-weight: 600; display: block; } .card.bad .n { color: #cf222e; }
  .card.warn .n { color: #9a6700; } .card small { color: #656d76; display: block; }
  table { border-collapse: collapse; background: #fff; border: 1px solid #d0d7de; width: 100%; }
  th, td { padding: .3rem .6rem; border-bottom: 1px solid #d8dee4; text-align: left; white-space: nowrap; }
  th { background: #f6f8fa; font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
  tr.dead td:first-child { box-shadow: inset 3px 0 #cf222e; } tr.paused td:first-child { box-shadow: inset 3px 0 #9a6700; }
  .badge { padding: 0 .45rem; border-radius: 1rem; font-size: .8rem; white-space: nowrap; }
  .badge.bad { background: #cf222e; color: #fff; } .badge.warn { background: #bf8700; color: #fff; }
  .badge.ok { background: #1a7f37; color: #fff; }
  .actions form { display: inline; } .actions button { font: inherit; font-size: .8rem; margin-right: .25rem; cursor: pointer; }
  .flash { padding: .5rem .9rem; border-radius: 6px; margin: .5rem 0; background: #dafbe1; border: 1px solid #1a7f37; }
  .flash.error { background: #ffebe9; border-color: #cf222e; }
  .pager { margin: .5rem 0; display: flex; gap: 1rem; align-items: center; }
  form.search input { font: inherit; padding: .2rem .4rem; width: 18rem; }
  .columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(32rem, 1fr)); gap: 0 1.5rem; }
  .columns > div { overflow-x: auto; }
  code { font-size: .9em; }
`;

/** The page around `body`: the header with the navigation, and the styles. */
export function layout(title: string, readOnly: boolean, body: Html): string {
  return html`<!doctype html>
<html lang="en"><head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><style>${new Html(styles)}</style>
</head><body>
<header><strong><a href="/admin">dirsync</a></strong>
<nav><a href="/admin">Status</a> · <a href="${QUEUE_DASHBOARD_PATH}">Queue dashboard</a> · <a href="/metrics">Metrics</a> · <a href="/admin/api/organizations">JSON</a></nav>
${readOnly ? html`<span class="badge warn">read-only</span>` : ''}</header>
<main>${body}</main>
</body></html>
`.value;
}
