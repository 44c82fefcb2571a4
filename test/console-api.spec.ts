import type { INestApplication } from '@nestjs/common';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ApiResponses } from '@tributary/api';
import type { TributaryConfig } from '@tributary/config';
import { createApp } from '@tributary/runtime';
import { callApi, rawRequest, TestApi } from './support/api';
import { platformConfig } from './support/capture-harness';
import { TestCluster, waitFor } from './support/pg-cluster';
import { TestPlatform } from './support/platform';
import { SseClient } from './support/sse';

const TOPIC = 'src.public.items';
const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'";
const ADMIN = 'console-admin-token';

interface SeriesAnswer {
  stepSeconds: number;
  timestamps: number[];
  sources: Record<string, { appended: (number | null)[] }>;
  groups: Record<string, { delivered: (number | null)[]; lag: (number | null)[] }>;
}

/**
 * What the console needs of the API (issue 17), on a real capture: the stats series (and that it
 * survives a restart), the live stream, the topic tail, browsing by time, a dry-run offset reset, and
 * the console's page with its headers; the event streams need a token when authentication is on.
 */
describe('the API for the console', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let source: Client;
  let app: INestApplication | undefined;
  let base: string;
  const noBuild = join(tmpdir(), 'tributary-no-console-build');
  const opened: SseClient[] = [];

  const call = (method: string, path: string, body?: unknown) => callApi(base, method, path, body);
  const config = (): TributaryConfig => {
    const c = { ...platformConfig(platform.url, [], 1), logLevel: 'error' as const };
    return { ...c, api: { ...c.api, consoleDir: noBuild } };
  };
  async function startApp(): Promise<void> {
    app = (await createApp(config(), ['api', 'capture', 'worker'])) as INestApplication;
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  }
  async function sse(path: string, token?: string): Promise<SseClient> {
    const client = await SseClient.open(`${base}${path}`, token);
    opened.push(client);
    return client;
  }
  const series = async (window = '15m'): Promise<SeriesAnswer> =>
    (await call('GET', `/api/v1/stats/series?window=${window}`)).body;
  const insert = (from: number, count: number) =>
    source.query(`INSERT INTO items SELECT g, 'n' || g FROM generate_series($1::int, $2::int) g`, [from, from + count - 1]);
  const committed = async () =>
    (await platform.pool.query(`SELECT next_offset::text AS o FROM tributary.group_offsets WHERE group_name = 'to-log'`)).rows;
  const end = async () =>
    Number(
      (await platform.pool.query(`SELECT next_offset FROM tributary.topic_partitions WHERE topic = $1`, [TOPIC])).rows[0]
        ?.next_offset ?? 0,
    );

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    platform = await TestPlatform.create(cluster, 'platform');
    await cluster.createDatabase('src');
    await cluster.query('src', 'CREATE TABLE items (id int PRIMARY KEY, note text)');
    source = new Client({ connectionString: cluster.url('src') });
    await source.connect();
    await startApp();
    const created = await call('POST', '/api/v1/sources', { name: 'src', url: cluster.url('src'), tables: ['public.items'] });
    expect(created.status).toBe(201);
    await waitFor(
      async () => (await call('GET', '/api/v1/sources/src')).body?.capture?.state === 'streaming',
      'capture to stream',
    );
    const group = { name: 'to-log', topics: [TOPIC], sessionTimeoutMs: 2_000, sink: { type: 'log' } };
    expect((await call('POST', '/api/v1/groups', group)).status).toBe(201);
  }, 180_000);

  afterAll(async () => {
    for (const c of opened) c.close();
    await source?.end();
    await app?.close();
    await platform?.close();
    await cluster?.stop();
  });

  it('charts appended and delivered messages/s and lag, and keeps the points over a restart', async () => {
    let next = 1;
    // Appends across several samples (5 s apart), so that consecutive samples differ.
    const seen = await waitFor(
      async () => {
        await insert(next, 20);
        next += 20;
        const s = await series();
        const appended = s.sources.src?.appended ?? [];
        const delivered = s.groups['to-log']?.delivered ?? [];
        // A finished step: the current one still averages the samples to come.
        const i = appended.findIndex((v, j) => j < appended.length - 2 && v !== null && v > 0);
        return i >= 0 && delivered.some((v) => v !== null && v > 0) && { s, at: s.timestamps[i], rate: appended[i] };
      },
      'rates in the series',
      120_000,
    );
    expect(ApiResponses.statsSeries.safeParse(seen.s).error).toBeUndefined();
    expect(seen.s.stepSeconds).toBe(5);
    expect(seen.s.timestamps).toHaveLength(180);
    expect(seen.s.groups['to-log'].lag.some((v) => v !== null)).toBe(true);
    const hour = await series('1h');
    expect(hour.stepSeconds).toBe(15);
    expect(hour.timestamps).toHaveLength(240);
    expect(hour.sources.src.appended.some((v) => v !== null && v > 0)).toBe(true);

    await app?.close();
    app = undefined;
    await startApp();
    const after = await series();
    const i = after.timestamps.indexOf(seen.at);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(after.sources.src.appended[i]).toBe(seen.rate);
    // Sampling resumes after the restart: a point after the last one before it.
    await waitFor(
      async () => {
        await insert(next, 5);
        next += 5;
        const s = await series();
        return s.sources.src.appended.some((v, j) => j > i + 1 && v !== null && v > 0);
      },
      'new points after the restart',
      120_000,
    );
  }, 300_000);

  it('streams live stats with each source and group, at once on connect', async () => {
    const live = await sse('/api/v1/stats/live');
    expect(live.status).toBe(200);
    expect(live.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const first = JSON.parse((await live.next('stats', undefined, 20_000)).data);
    expect(first.sources).toEqual([expect.objectContaining({ name: 'src', state: 'streaming', lastError: null })]);
    expect(ApiResponses.liveStats.safeParse(first).error).toBeUndefined();
    expect(first.sources[0].lastCommitAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(first.groups).toEqual([
      expect.objectContaining({
        name: 'to-log',
        sinkType: 'log',
        blockedPartitions: 0,
        pausedPartitions: 0,
        errors: 0,
        reason: null,
      }),
    ]);
    // The next ones come every 2 s without asking; the slot's lag, read from the source in the background, in one of them.
    const second = JSON.parse((await live.next('stats', (d) => JSON.parse(d).sources[0].slotLagBytes !== null, 30_000)).data);
    expect(Date.parse(second.at)).toBeGreaterThan(Date.parse(first.at));
    expect(second.sources[0].slotLagBytes).toEqual(expect.any(Number));
    live.close();
  }, 60_000);

  it('tails a partition: every message appended after the connect, as the messages page shows it', async () => {
    const tail = await sse(`/api/v1/topics/${TOPIC}/tail?partition=0`);
    expect(tail.status).toBe(200);
    await insert(100_000, 1);
    // The first event is that row: nothing appended before the connect is sent.
    const item = JSON.parse((await tail.next('message', undefined, 60_000)).data);
    expect(item.envelope.after.id).toBe(100_000);
    const page = await call('GET', `/api/v1/topics/${TOPIC}/messages?partition=0&offset=${item.offset}&limit=1`);
    expect(page.body.messages[0]).toEqual(item);
    tail.close();
  }, 90_000);

  it('browses by time with at=', async () => {
    const before = await end();
    await insert(200_000, 1);
    await waitFor(async () => (await end()) > before, 'the first row in the topic');
    const { rows } = await platform.pool.query<{ t: Date }>('SELECT clock_timestamp() AS t');
    const at = rows[0].t;
    await waitFor(
      async () => (await platform.pool.query('SELECT clock_timestamp() > $1 AS past', [at])).rows[0].past,
      'time to pass',
    );
    await insert(200_001, 1);
    await waitFor(async () => (await end()) > before + 1, 'the second row in the topic');
    const page = await call(
      'GET',
      `/api/v1/topics/${TOPIC}/messages?partition=0&at=${encodeURIComponent(at.toISOString())}&limit=10`,
    );
    expect(page.status).toBe(200);
    expect(page.body.messages.map((m: { envelope: { after: { id: number } } }) => m.envelope.after.id)).toEqual([200_001]);
  }, 90_000);

  it('says what a reset would redeliver without changing anything (dryRun)', async () => {
    const last = await end();
    await waitFor(async () => (await committed())[0]?.o === String(last), 'the group to catch up');
    const before = await platform.pool.query('SELECT * FROM tributary.group_offsets ORDER BY partition');
    const events = await platform.pool.query('SELECT count(*)::int AS n FROM tributary.group_events');
    const dry = await call('POST', '/api/v1/groups/to-log/offsets/reset', { to: 'earliest', dryRun: true });
    expect(dry.status).toBe(200);
    expect(ApiResponses.offsetResets.safeParse(dry.body).error).toBeUndefined();
    expect(dry.body).toEqual({
      group: 'to-log',
      dryRun: true,
      resets: [
        expect.objectContaining({ topic: TOPIC, partition: 0, committedOffset: String(last), newOffset: '0', redelivered: last }),
      ],
    });
    expect((await platform.pool.query('SELECT * FROM tributary.group_offsets ORDER BY partition')).rows).toEqual(before.rows);
    expect((await platform.pool.query('SELECT count(*)::int AS n FROM tributary.group_events')).rows).toEqual(events.rows);
    // Without dryRun, a running group is still refused.
    expect((await call('POST', '/api/v1/groups/to-log/offsets/reset', { to: 'earliest' })).status).toBe(409);
  }, 90_000);

  it('redirects / to the console, and answers 503 at /console/ without a build', async () => {
    const home = await fetch(`${base}/`, { redirect: 'manual' });
    expect(home.status).toBe(302);
    expect(home.headers.get('location')).toBe('/console/');
    const page = await call('GET', '/console/');
    expect(page.status).toBe(503);
    expect(page.headers.get('content-type')).toContain('application/problem+json');
    expect(page.body.detail).toMatch(/npm run build/);
  });

  describe('with a build and authentication on', () => {
    let api: TestApi;
    let apiClosed = false;
    let build: string;

    beforeAll(async () => {
      build = mkdtempSync(join(tmpdir(), 'tributary-console-'));
      mkdirSync(join(build, 'assets'));
      writeFileSync(
        join(build, 'index.html'),
        '<!doctype html><title>console</title><script src="/console/assets/index-AbCd1234.js"></script>',
      );
      writeFileSync(join(build, 'assets', 'index-AbCd1234.js'), 'console.log("hi")');
      writeFileSync(join(build, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
      api = await TestApi.start(platform, (c) => ({ ...c, api: { ...c.api, adminToken: ADMIN, consoleDir: build } }));
    });

    afterAll(async () => {
      if (!apiClosed) await api?.close();
      rmSync(build, { recursive: true, force: true });
    });

    it('serves the page with its CSP, SPA routes with the page, hashed assets for long', async () => {
      for (const path of ['/console/', '/console', '/console/groups/to-log']) {
        const page = await api.call('GET', path);
        expect(page.status).toBe(200);
        expect(page.headers.get('content-type')).toMatch(/^text\/html/);
        expect(page.headers.get('content-security-policy')).toBe(CSP);
        expect(page.text).toContain('<title>console</title>');
      }
      const asset = await api.call('GET', '/console/assets/index-AbCd1234.js');
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await api.call('GET', '/console/favicon.svg')).headers.get('cache-control')).toBe('no-cache');
      const missing = await api.call('GET', '/console/assets/gone-12345678.js');
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toContain('application/problem+json');
      // A path out of the build folder is only ever the page.
      const escape = await rawRequest(`${api.base}/console/..%2f..%2fpackage.json`, 'GET', { host: '127.0.0.1' });
      expect(escape.text).not.toContain('"name"');
    });

    it('wants a token for the event streams (401 without), like any GET', async () => {
      for (const path of ['/api/v1/stats/live', `/api/v1/topics/${TOPIC}/tail?partition=0`]) {
        const refused = await SseClient.open(`${api.base}${path}`);
        expect(refused.status).toBe(401);
        expect(refused.headers.get('content-type')).toContain('application/problem+json');
      }
      const live = await SseClient.open(`${api.base}/api/v1/stats/live`, ADMIN);
      opened.push(live);
      expect(live.status).toBe(200);
      expect(JSON.parse((await live.next('stats', undefined, 20_000)).data).groups[0]).toMatchObject({ name: 'to-log' });
      // Closing the app ends the open stream rather than waiting for it.
      apiClosed = true;
      await api.close();
      await waitFor(() => live.serverEnded, 'the stream to end with the app');
    });
  });
});
