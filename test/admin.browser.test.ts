// The operator surface in a real browser: Debian's Chromium driven by
// playwright-core, against the API listening on a random port. It logs in with
// HTTP basic credentials (the token as password), looks at the queue dashboard and
// the status page, and saves screenshots under test/artifacts/.
import { existsSync, mkdirSync } from 'node:fs';
import { Queue } from 'bullmq';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { withOverrides } from '../common/config.ts';
import { QUEUES } from '../common/queues.ts';
import { triggerDrain } from '../common/triggers.ts';
import { type Service, startService } from '../service.ts';
import { useTestContext } from './support/context.ts';
import { type OperatorWorld, seedOperatorWorld } from './support/operator-fixtures.ts';
import { findOrganization } from './support/organizations.ts';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'browser-token-0123456789abcdef';
const artifacts = new URL('./artifacts/', import.meta.url);
const haveChromium = existsSync(CHROMIUM);
// Locally a missing Chromium skips the file with a warning; in CI (.ci/run sets CI)
// it fails, so a green CI run always includes the browser.
const inCI = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());
const missing = `${CHROMIUM} is missing (apt-get install chromium; .ci/run does)`;

const ctx = useTestContext('admin_browser');
vi.setConfig({ testTimeout: 90_000, hookTimeout: 90_000 });

if (!haveChromium) {
  if (inCI) {
    it('has Chromium in CI', () => {
      throw new Error(`the admin browser test cannot run: ${missing}`);
    });
  } else console.warn(`admin browser test skipped: ${missing}`);
}

describe.skipIf(!haveChromium)(`admin in a browser (${CHROMIUM})`, () => {
  let service: Service;
  let browser: Browser;
  let base: string;
  let world: OperatorWorld;

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    world = await seedOperatorWorld(ctx.db, 'browser');
    // Started outside the per-test leak check: one server and browser for the file.
    service = await startService(
      withOverrides(ctx.config, { ADMIN_TOKEN: TOKEN, MIGRATE_ON_START: false }),
      ctx.logger,
      { api: true, worker: false },
    );
    // /admin and the queue dashboard are on the internal listener (ADMIN_PORT).
    base = service.adminAddress!;
    // Jobs for the dashboard to count: a waiting drain trigger per troubled org.
    await triggerDrain(service.resources.drainQueue, world.failing);
    await triggerDrain(service.resources.drainQueue, world.paused);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // launch() gives every run a fresh temporary user-data-dir of its own.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  const operator = () =>
    browser.newContext({
      httpCredentials: { username: 'operator', password: TOKEN },
      viewport: { width: 1400, height: 900 },
    });

  it('gets a basic-auth challenge without credentials', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      // With no credentials to answer the challenge, Chromium ends the navigation
      // (ERR_INVALID_AUTH_CREDENTIALS); the 401 itself is still seen.
      const challenged = page.waitForResponse(`${base}/admin`);
      await page.goto(`${base}/admin`).catch(() => undefined);
      const res = await challenged;
      expect(res?.status()).toBe(401);
      expect(res?.headers()['www-authenticate']).toMatch(/^Basic realm="dirsync"/);
    } finally {
      await context.close();
    }
  });

  it('logs in and sees the dirsync queues with their counts on /admin/queues', async () => {
    const context = await operator();
    try {
      const page = await context.newPage();
      const res = await page.goto(`${base}/admin/queues`);
      expect(res?.status()).toBe(200);
      // Each queue's card, with its job count (two waiting drain triggers, no upkeep).
      // The cards' text runs together ("drainNo workers2 Jobsmaintenance…").
      const cards = async () => (await page.locator('main').textContent()) ?? '';
      await expect
        .poll(cards, { timeout: 30_000 })
        .toMatch(/drain(?:(?!maintenance).)*?2 Jobs.*maintenance.*?0 Jobs/i);
      expect(await page.locator('body').textContent()).toMatch(/waiting\s*2/i);
      await page.screenshot({
        path: new URL('admin-queues.png', artifacts).pathname,
        fullPage: true,
      });

      // The drain queue's waiting jobs carry organization ids only.
      await page.goto(`${base}/admin/queues/queue/drain?status=waiting`);
      await expect
        .poll(async () => (await page.textContent('body')) ?? '', { timeout: 30_000 })
        .toContain(world.failing);
      await page.screenshot({
        path: new URL('admin-queue-drain.png', artifacts).pathname,
        fullPage: true,
      });
    } finally {
      await context.close();
    }
  });

  it('sees an organization with a dead event on the /admin status page', async () => {
    const context = await operator();
    try {
      const page = await context.newPage();
      const res = await page.goto(`${base}/admin`);
      expect(res?.status()).toBe(200);
      const row = page.locator(`tr[data-organization="${world.failing}"]`);
      await row.waitFor();
      expect(await row.getAttribute('class')).toBe('dead');
      expect(await row.textContent()).toMatch(/1 dead/);
      expect(await page.locator('#summary').textContent()).toMatch(/needing attention/);
      expect(await page.locator('#dead-events').textContent()).toContain(world.failingEventId);
      expect(await page.getByRole('link', { name: 'Queue dashboard' }).getAttribute('href')).toBe(
        '/admin/queues',
      );
      await page.screenshot({
        path: new URL('admin-status.png', artifacts).pathname,
        fullPage: true,
      });
    } finally {
      await context.close();
    }
  });

  it('acts on an organization from its page with the buttons, and shows what happened', async () => {
    const context = await operator();
    const elsewhere = await offHost(context);
    try {
      const page = await context.newPage();
      await page.goto(`${base}/admin?q=${world.failing}`);
      await page.locator('#organizations').getByRole('link', { name: world.failing }).click();
      await page.waitForURL(`${base}/admin/organizations/${world.failing}`);
      expect(await page.locator('#dead-events').textContent()).toContain(world.failingEventId);
      await page.getByRole('button', { name: 'Pause' }).click();
      await page.waitForURL(/\?done=pause$/);
      expect(await page.locator('.flash').textContent()).toContain('Paused');
      // Paused with a dead event: both show.
      expect(await page.locator('h1').textContent()).toMatch(/1 dead\s*paused/);
      expect((await findOrganization(ctx.db, world.failing))?.paused_at).toBeInstanceOf(Date);
      await page.screenshot({
        path: new URL('admin-organization.png', artifacts).pathname,
        fullPage: true,
      });
      await page.getByRole('button', { name: 'Resume' }).click();
      await page.waitForURL(/\?done=resume$/);
      expect((await findOrganization(ctx.db, world.failing))?.paused_at).toBeNull();
      expect(elsewhere).toEqual([]);
    } finally {
      await context.close();
    }
  });

  /** Every request of `context` to another host is recorded and refused. */
  async function offHost(context: BrowserContext): Promise<string[]> {
    const seen: string[] = [];
    const host = new URL(base).host;
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (new URL(url).host === host) return route.continue();
      seen.push(url);
      return route.abort();
    });
    return seen;
  }

  it('serves the queue dashboard with no request leaving the host, and a link back', async () => {
    const context = await operator();
    const elsewhere = await offHost(context);
    try {
      const page = await context.newPage();
      await page.goto(`${base}/admin/queues`);
      await expect
        .poll(async () => (await page.locator('main').textContent()) ?? '', { timeout: 30_000 })
        .toMatch(/drain.*Jobs/i);
      await page.goto(`${base}/admin/queues/queue/drain?status=waiting`);
      await expect
        .poll(async () => (await page.textContent('body')) ?? '', { timeout: 30_000 })
        .toContain(world.failing);
      await page.getByRole('link', { name: '← dirsync status' }).click();
      await page.waitForURL(`${base}/admin`);
      expect(elsewhere).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('loads the queue dashboard opened with the credentials in its URL', async () => {
    // No stored credentials: only those in the URL (http://operator:<token>@host/…).
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    try {
      const page = await context.newPage();
      const url = new URL(`${base}/admin/queues`);
      url.username = 'operator';
      url.password = TOKEN;
      await page.goto(url.href);
      await expect
        .poll(
          async () =>
            (await page
              .locator('main')
              .textContent()
              .catch(() => '')) ?? '',
          {
            timeout: 30_000,
          },
        )
        .toMatch(/drain.*Jobs/i);
      expect(page.url()).not.toContain('@');
      expect(await page.locator('body').textContent()).not.toMatch(/^\s*Loading\s*$/);
    } finally {
      await context.close();
    }
  });

  it('does a Bull Board action from its own page (same origin, basic auth)', async () => {
    const context = await operator();
    const maintenance = ctx.track(
      'queue',
      new Queue(QUEUES.maintenance, {
        connection: service.resources.redis,
        prefix: ctx.config.REDIS_PREFIX,
      }),
    );
    try {
      const page = await context.newPage();
      await page.goto(`${base}/admin/queues/queue/maintenance`);
      // The queue's action menu is the page's last menu button, once the queue is shown.
      await page.getByRole('button', { name: 'Nothing is consuming this queue' }).waitFor();
      await page.locator('button[aria-haspopup="menu"]').last().click();
      await page.getByRole('menuitem', { name: 'Pause', exact: true }).click();
      const paused = page.waitForResponse(
        (r) => r.request().method() === 'PUT' && r.url().endsWith('/maintenance/pause'),
      );
      await page.getByRole('button', { name: 'Confirm' }).click();
      expect((await paused).status()).toBe(200);
      expect(await maintenance.isPaused()).toBe(true);
    } finally {
      await maintenance.resume();
      await maintenance.close();
      await context.close();
    }
  });

  it('refuses a cross-site form posted with the cached basic credentials', async () => {
    const context = await operator();
    try {
      const page = await context.newPage();
      // Logged in: the browser now holds the credentials for this origin.
      expect((await page.goto(`${base}/admin`))?.status()).toBe(200);
      const target = `${base}/admin/api/organizations/${world.healthy}/pause`;
      await page.route('http://attacker.test/', (route) =>
        route.fulfill({
          contentType: 'text/html',
          body: `<form method="post" enctype="text/plain" action="${target}"><input name="a" value="b"></form><script>document.forms[0].submit()</script>`,
        }),
      );
      const refused = page.waitForResponse(
        (r) => r.request().method() === 'POST' && r.url() === target,
      );
      await page.goto('http://attacker.test/');
      const res = await refused;
      expect(res.status()).toBe(403);
      expect(await res.json()).toMatchObject({ error: { code: 'cross_site' } });
      expect((await findOrganization(ctx.db, world.healthy))?.paused_at).toBeNull();
    } finally {
      await context.close();
    }
  });
});
