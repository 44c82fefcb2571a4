import type { INestApplication } from '@nestjs/common';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { createApp } from '@tributary/runtime';
import { callApi } from './support/api';
import { platformConfig } from './support/capture-harness';
import { buildConsole } from './support/console-server';
import { TestCluster, waitFor } from './support/pg-cluster';
import { TestPlatform } from './support/platform';
import { WebhookReceiver } from './support/webhook-receiver';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = join(__dirname, '..', 'test-output');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI !== 'true')
  console.warn(`NOTE: ${CHROMIUM} is missing: the console's browser tests are left out`);
const suite = haveChromium || process.env.CI === 'true' ? describe : describe.skip;
const TOPIC = 'shop.public.orders';
const UI_WAIT = { timeout: 60_000 };

/**
 * The web console in a real browser (Debian's chromium, headless) against the whole platform in one
 * process on Postgres 15: the walk-through's table seen flowing, a group's lag going to 0, a failing
 * webhook's dead letter replayed from the console, and a read-only token shown no write controls. Each
 * scenario leaves a screenshot in test-output/.
 */
suite('the web console in a browser', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let app: INestApplication;
  let base: string;
  let browser: Browser;
  let ok: WebhookReceiver;
  let failing: WebhookReceiver;
  let adminToken: string | undefined;
  const call = (method: string, path: string, body?: unknown) =>
    callApi(base, method, `/api/v1${path}`, body, { token: adminToken });

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    buildConsole();
    cluster = await TestCluster.start(15);
    platform = await TestPlatform.create(cluster, 'console_platform');
    const sourceUrl = await cluster.createDatabase('console_shop');
    await cluster.query('console_shop', 'CREATE TABLE orders (id int PRIMARY KEY, total numeric NOT NULL, note text)');
    await cluster.query('console_shop', 'ALTER TABLE orders REPLICA IDENTITY FULL'); // updates carry the whole row before
    [ok, failing] = await Promise.all([WebhookReceiver.start(), WebhookReceiver.start()]);
    const config = { ...platformConfig(platform.url, [], 1), logLevel: 'error' as const, localDefaults: true };
    app = (await createApp(config, ['api', 'capture', 'worker'])) as INestApplication;
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const created = await call('POST', '/sources', { name: 'shop', url: sourceUrl, tables: ['public.orders'] });
    expect(created.status).toBe(201);
    await waitFor(async () => (await call('GET', '/sources/shop')).body.slotActive === true, 'capture of shop to stream');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
        '--disable-quic',
      ],
    });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await ok?.close();
    await failing?.close();
    await platform?.close();
    await cluster?.stop();
  });

  async function open(hash = '', token?: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, timezoneId: 'UTC' });
    // the tab's token, as the prompt would store it (a script string: this file is compiled without the DOM lib)
    if (token) await context.addInitScript(`sessionStorage.setItem('tributary.token', ${JSON.stringify(token)})`);
    const page = await context.newPage();
    page.on('dialog', (d) => void d.accept());
    // the page's own errors, in the test's output: a blank page says nothing otherwise
    page.on('pageerror', (e) => console.warn(`console page error: ${e.message}`));
    // (answers of 401, 403 and 404, which the console handles, are logged by the browser as failed loads)
    page.on(
      'console',
      (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && console.warn(`console page: ${m.text()}`),
    );
    await page.goto(`${base}/console/${hash}`);
    return page;
  }

  let nextId = 1;
  const insert = (n: number) =>
    cluster.query('console_shop', `INSERT INTO orders SELECT i, i * 1.5, 'n' || i FROM generate_series($1::int, $2::int) i`, [
      nextId,
      (nextId += n) - 1,
    ]);

  it("shows the walk-through's table flowing: the rate chart moves and the changed row appears", async () => {
    const page = await open();
    const firstLoad = await page.evaluate<number>(
      "(() => { const [nav] = performance.getEntriesByType('navigation'); return Math.round(nav.loadEventEnd - nav.startTime); })()",
    );
    console.log(`console: first load ${firstLoad} ms (local, built bundle)`);
    await page.getByTestId('source-shop').waitFor(UI_WAIT);
    // keep changing the table until the chart has drawn a rate above 0 for it
    await waitFor(
      async () => {
        await insert(50);
        const chart = page.getByTestId('chart-appended');
        const [points, max] = [Number(await chart.getAttribute('data-points')), Number(await chart.getAttribute('data-max'))];
        return points >= 2 && max > 0;
      },
      'the appended-rate chart to show captured messages',
      90_000,
    );
    expect(await page.getByTestId('source-shop').textContent()).toContain('streaming');
    await page.screenshot({ path: join(OUTPUT, 'console-overview.png'), fullPage: true });

    // the update comes in a second of its own, so that reading from that second finds it first
    const second = Math.ceil(Date.now() / 1000) * 1000;
    await waitFor(() => Date.now() > second, 'the next second');
    await cluster.query('console_shop', `UPDATE orders SET total = 99, note = 'changed' WHERE id = 1`);
    const end = await waitFor(async () => {
      const topic = (await call('GET', `/topics/${TOPIC}`)).body;
      const last = topic.offsets?.[0] ? BigInt(topic.offsets[0].end) - 1n : -1n;
      if (last < 0n) return false;
      const page1 = (await call('GET', `/topics/${TOPIC}/messages?partition=0&offset=${last}&limit=1`)).body;
      return page1.messages?.[0]?.envelope?.op === 'u' ? last : false;
    }, 'the update in the topic');
    await page.goto(`${base}/console/#/topics/${TOPIC}`);
    await page.getByLabel('offset', { exact: true }).fill(end.toString());
    await page.getByRole('button', { name: 'Read' }).click();
    const message = page.getByTestId('message').first();
    await message.waitFor(UI_WAIT);
    expect(await message.textContent()).toContain('op u');
    const changed = message.locator('table.diff tr.changed');
    expect(await changed.allTextContents()).toEqual(['total"1.5""99"', 'note"n1""changed"']); // numeric keeps its digits: a string
    await page.screenshot({ path: join(OUTPUT, 'console-topic-update.png'), fullPage: true });

    // the same message found by time (the browser's zone is UTC, as the datetime field is local time)
    await page.getByLabel('read from').selectOption('time');
    await page.getByLabel('time', { exact: true }).fill(new Date(second).toISOString().slice(0, 19));
    await page.getByRole('button', { name: 'Read' }).click();
    await page.getByText(`offset ${end} · op u`).waitFor(UI_WAIT);
    expect(await page.getByTestId('message').count()).toBe(1);
    await page.context().close();
  });

  it("shows a new group's lag, and its drop to 0 once the endpoint answers", async () => {
    ok.reply = () => ({ status: 204, hold: true });
    const created = await call('POST', '/groups', {
      name: 'hooks-ok',
      topics: [TOPIC],
      startFrom: 'earliest',
      sink: { type: 'webhook', url: ok.url, allowPrivateNetworks: true },
    });
    expect(created.status).toBe(201);
    const page = await open();
    const lag = page.getByTestId('lag-hooks-ok');
    await waitFor(
      async () => (await lag.count()) > 0 && (await lag.textContent()) !== '0',
      'a lag above 0 on the overview',
      60_000,
    );
    await page.screenshot({ path: join(OUTPUT, 'console-group-lagging.png'), fullPage: true });
    ok.reply = () => ({ status: 204 });
    ok.release();
    await waitFor(async () => (await lag.textContent()) === '0', 'the lag to drop to 0 on the overview', 90_000);
    expect(Number(await page.getByTestId('chart-lag').getAttribute('data-max'))).toBeGreaterThan(0);
    await page.screenshot({ path: join(OUTPUT, 'console-group-caught-up.png'), fullPage: true });
    // the README's picture of the overview: CONSOLE_DOCS_SCREENSHOT=true refreshes it
    if (process.env.CONSOLE_DOCS_SCREENSHOT === 'true')
      await page.screenshot({ path: join(__dirname, '..', 'docs', 'console-overview.png') });
    await page.context().close();
  });

  it("replays a failing webhook's dead letter from the console", async () => {
    failing.reply = () => ({ status: 500, body: 'nope' });
    const created = await call('POST', '/groups', {
      name: 'hooks-fail',
      topics: [TOPIC],
      startFrom: 'latest',
      sink: { type: 'webhook', url: failing.url, allowPrivateNetworks: true },
      retry: { maxAttempts: 2, initialBackoffMs: 10, maxBackoffMs: 20 },
      onFailure: 'dead_letter',
    });
    expect(created.status).toBe(201);
    await waitFor(
      async () => (await call('GET', '/groups/hooks-fail')).body.partitions?.[0]?.owner,
      'a member to own the partition',
    );
    await insert(1);
    const [dead] = await waitFor(async () => {
      const list = (await call('GET', '/dead-letters?group=hooks-fail')).body;
      return Array.isArray(list) && list.length ? list : false;
    }, 'the dead letter');
    const page = await open('#/groups/hooks-fail');
    const row = page.getByTestId(`dead-letter-${dead.id}`);
    await row.waitFor(UI_WAIT);
    await page.screenshot({ path: join(OUTPUT, 'console-dead-letter.png'), fullPage: true });
    failing.reply = () => ({ status: 204 });
    const before = failing.received.length;
    await page.getByTestId(`replay-${dead.id}`).click();
    await row.waitFor({ state: 'detached', ...UI_WAIT });
    expect(failing.received.length).toBeGreaterThan(before);
    expect(failing.answered.get(failing.received.length - 1)).toBe(204);
    expect((await call('GET', '/dead-letters?group=hooks-fail')).body).toEqual([]);
    await page.screenshot({ path: join(OUTPUT, 'console-dead-letter-replayed.png'), fullPage: true });
    await page.context().close();
  });

  it('asks for a token, and shows a read-only token no write controls', async () => {
    const admin = await call('POST', '/tokens', { name: 'console-admin', role: 'admin' }); // turns authentication on
    expect(admin.status).toBe(201);
    adminToken = admin.body.token;
    const reader = await call('POST', '/tokens', { name: 'console-reader', role: 'read' });
    expect(reader.status).toBe(201);
    const writeControls =
      '[data-testid=pause], [data-testid=resume], [data-testid=reset], [data-testid=webhook-test], [data-testid=rotate-secret]';

    const asAdmin = await open('#/groups/hooks-ok', adminToken);
    await asAdmin.getByTestId('partitions').waitFor(UI_WAIT);
    for (const control of ['pause', 'reset', 'webhook-test', 'rotate-secret'])
      await asAdmin.getByTestId(control).waitFor(UI_WAIT);
    await asAdmin.screenshot({ path: join(OUTPUT, 'console-admin-group.png'), fullPage: true });
    await asAdmin.context().close();

    const page = await open('#/groups/hooks-ok');
    const prompt = page.getByLabel('API token');
    await prompt.waitFor(UI_WAIT);
    await prompt.fill(reader.body.token);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.getByTestId('partitions').waitFor(UI_WAIT);
    await page.getByTestId('dead-letters').waitFor(UI_WAIT);
    expect(await page.getByTestId('access').textContent()).toBe('read-only token');
    expect(await page.locator(writeControls).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Replay|Discard|Pause|Reset|Rotate/ }).count()).toBe(0);
    await page.screenshot({ path: join(OUTPUT, 'console-read-only-group.png'), fullPage: true });
    await page.goto(`${base}/console/#/config`);
    await page.getByLabel('configuration YAML').waitFor(UI_WAIT);
    expect(await page.getByTestId('plan').count()).toBe(0);
    expect(await page.getByTestId('tokens').count()).toBe(0);
    expect(await page.getByLabel('configuration YAML').getAttribute('readonly')).not.toBeNull();
    await page.screenshot({ path: join(OUTPUT, 'console-read-only-config.png'), fullPage: true });
    await page.context().close();
  });
});
