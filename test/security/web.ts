import type { TributaryConfig } from '@tributary/config';
import { createApp, StandaloneMetrics } from '@tributary/runtime';
import { rawRequest, TestApi } from '../support/api';
import { platformConfig, sourceConfig } from '../support/capture-harness';
import { TestCluster, waitFor } from '../support/pg-cluster';
import { TestPlatform } from '../support/platform';

/**
 * The API listens on 127.0.0.1, which every web page the user visits can reach through the browser:
 * by a form post, a fetch with another Origin, or DNS rebinding (a name of the attacker's that now
 * resolves to 127.0.0.1, so the page reads the answers as its own). None of them may read or change anything.
 */
describe('web: a page in the browser cannot drive the API', () => {
  const ADMIN = 'web-admin-token-of-the-operator';
  let cluster: TestCluster;
  let platform: TestPlatform;
  /** Authentication, once on, stays on for its platform database: the guarded API has its own. */
  let guardedPlatform: TestPlatform;
  let open: TestApi;
  let configured: TestApi;
  let guarded: TestApi;
  const hostOf = (api: TestApi) => new URL(api.base).host;
  const groups = async () =>
    (await platform.pool.query<{ name: string }>('SELECT name FROM tributary.consumer_groups ORDER BY name')).rows.map(
      (r) => r.name,
    );

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    platform = await TestPlatform.create(cluster, 'web_open');
    await platform.createTopic('web.t', 1);
    open = await TestApi.start(platform);
    configured = await TestApi.start(platform, (c) => ({
      ...c,
      api: { ...c.api, allowedHosts: ['tributary.internal', '.corp.example'], allowedOrigins: ['https://console.corp.example'] },
    }));
    guardedPlatform = await TestPlatform.create(cluster, 'web_guarded');
    await guardedPlatform.createTopic('web.t', 1);
    guarded = await TestApi.start(guardedPlatform, (c) => ({ ...c, api: { ...c.api, adminToken: ADMIN } }));
  });

  afterAll(async () => {
    for (const api of [open, configured, guarded]) await api?.close();
    await guardedPlatform?.close();
    await platform?.close();
    await cluster?.stop();
  });

  it('refuses a plain HTML form post (urlencoded, multipart, text/plain) with 415, and creates nothing', async () => {
    const host = hostOf(open);
    const form = 'name=csrf&topics[0]=*&sink[type]=webhook&sink[url]=https://attacker.example/h';
    const bodies: [string, string][] = [
      ['application/x-www-form-urlencoded', form],
      ['multipart/form-data; boundary=b', '--b\r\nContent-Disposition: form-data; name="name"\r\n\r\ncsrf\r\n--b--\r\n'],
      ['text/plain', '{"name":"csrf","topics":["*"],"x":"="}'],
    ];
    for (const [type, body] of bodies) {
      const res = await open.raw('POST', '/api/v1/groups', { host, 'content-type': type }, body);
      expect(res.status).toBe(415);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 415, title: 'Unsupported Media Type', field: 'Content-Type' });
    }
    const untyped = await open.raw('POST', '/api/v1/groups', { host, 'content-length': '2' }, '{}');
    expect(untyped.status).toBe(415);
    expect(await groups()).toEqual([]);
    // JSON, and a write without a body, still work
    expect((await open.call('POST', '/api/v1/groups', { name: 'mine', topics: ['web.t'] })).status).toBe(201);
    expect((await open.call('POST', '/api/v1/groups/mine/pause')).status).toBe(200);
    const merge = await open.raw(
      'PATCH',
      '/api/v1/groups/mine',
      { host, 'content-type': 'application/merge-patch+json' },
      '{"batchSize":7}',
    );
    expect(merge.status).toBe(200);
    expect(merge.body.batchSize).toBe(7);
    expect((await open.call('DELETE', '/api/v1/groups/mine')).status).toBe(204);
  });

  it('answers 421 to a Host that is not loopback, an IP address or configured (DNS rebinding)', async () => {
    const port = new URL(open.base).port;
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1.evil.example:${port}`, 'localhost.evil.example']) {
      const res = await open.raw('GET', '/api/v1/config', { host });
      expect(res.status).toBe(421);
      expect(res.body).toMatchObject({ status: 421, title: 'Misdirected Request', field: 'Host' });
      expect(JSON.stringify(res.body)).not.toContain('"sources"');
    }
    expect((await open.raw('GET', '/health', { host: 'evil.example' })).status).toBe(421);
    const write = await open.raw(
      'POST',
      '/api/v1/groups',
      { host: 'evil.example', 'content-type': 'application/json' },
      JSON.stringify({ name: 'rebound', topics: ['*'] }),
    );
    expect(write.status).toBe(421);
    expect(await groups()).toEqual([]);
    for (const host of [
      `localhost:${port}`,
      `LocalHost.:${port}`,
      'tools.localhost',
      `127.0.0.1:${port}`,
      '127.9.9.9',
      `[::1]:${port}`,
      '10.1.2.3:3000',
    ]) {
      expect({ host, status: (await open.raw('GET', '/api/v1/config', { host })).status }).toEqual({ host, status: 200 });
    }
    expect((await open.raw('GET', '/api/v1/config', { host: 'tributary.internal' })).status).toBe(421);
    for (const host of ['tributary.internal', 'tributary.internal:3000', 'corp.example', 'api.corp.example'])
      expect({ host, status: (await configured.raw('GET', '/api/v1/config', { host })).status }).toEqual({ host, status: 200 });
    expect((await configured.raw('GET', '/api/v1/config', { host: 'corp.example.evil' })).status).toBe(421);
  });

  it('refuses requests from pages of other origins with 403, reads included, unless the origin is configured', async () => {
    const host = hostOf(open);
    const json = { host, 'content-type': 'application/json' };
    const body = JSON.stringify({
      name: 'from-evil',
      topics: ['*'],
      sink: { type: 'webhook', url: 'https://attacker.example/h' },
    });
    for (const origin of [
      'https://evil.example',
      'null',
      `http://${host}.evil.example`,
      `http://localhost:${new URL(open.base).port}`,
    ]) {
      const post = await open.raw('POST', '/api/v1/groups', { ...json, origin }, body);
      expect({ origin, status: post.status, field: post.body.field }).toEqual({ origin, status: 403, field: 'Origin' });
      expect((await open.raw('GET', '/api/v1/config', { host, origin })).status).toBe(403);
      expect(
        (await open.raw('OPTIONS', '/api/v1/groups', { host, origin, 'access-control-request-method': 'POST' })).status,
      ).toBe(403);
    }
    const crossSite = await open.raw('POST', '/api/v1/groups', { ...json, 'sec-fetch-site': 'cross-site' }, body);
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.field).toBe('Sec-Fetch-Site');
    expect(await groups()).toEqual([]);
    // a link followed from another site (a GET navigation carries no Origin) and the API's own pages are served
    expect((await open.raw('GET', '/docs', { host, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' })).status).toBe(
      200,
    );
    expect(
      (await open.raw('GET', '/api/v1/config', { host, origin: `http://${host}`, 'sec-fetch-site': 'same-origin' })).status,
    ).toBe(200);
  });

  it('serves a configured origin with CORS, and no CORS headers to anyone else', async () => {
    const host = hostOf(configured);
    const origin = 'https://console.corp.example';
    const preflight = await configured.raw('OPTIONS', '/api/v1/groups', {
      host,
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/content-type/);
    const read = await configured.raw('GET', '/api/v1/config', { host, origin, 'sec-fetch-site': 'cross-site' });
    expect(read.status).toBe(200);
    expect(read.headers.get('access-control-allow-origin')).toBe(origin);
    const own = await open.raw('GET', '/api/v1/config', { host: hostOf(open) });
    expect(own.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('keeps /metrics behind a token when authentication is on, unless configured open', async () => {
    expect((await guarded.call('GET', '/metrics')).status).toBe(401);
    const scraped = await guarded.call('GET', '/metrics', undefined, ADMIN);
    expect(scraped.status).toBe(200);
    expect(scraped.body).toContain('tributary_topic_end_offset{topic="web.t",partition="0"} 0');
    const scraper = await TestApi.start(guardedPlatform, (c) => ({
      ...c,
      api: { ...c.api, adminToken: ADMIN },
      metricsPublic: true,
    }));
    try {
      expect((await scraper.call('GET', '/metrics')).status).toBe(200);
      expect((await scraper.call('GET', '/api/v1/topics')).status).toBe(401);
    } finally {
      await scraper.close();
    }
    expect((await guarded.call('GET', '/health')).status).toBe(200);
  });

  it('does not let the last admin token be deleted: the API would silently open again', async () => {
    const own = await TestPlatform.create(cluster, 'web_tokens');
    const api = await TestApi.start(own);
    try {
      const first = (await api.call('POST', '/api/v1/tokens', { name: 'first', role: 'admin' })).body;
      expect((await api.call('GET', '/api/v1/topics')).status).toBe(401);
      const reader = (await api.call('POST', '/api/v1/tokens', { name: 'reader', role: 'read' }, first.token)).body;
      const last = await api.call('DELETE', `/api/v1/tokens/${first.id}`, undefined, first.token);
      expect(last.status).toBe(409);
      expect(last.body).toMatchObject({ field: 'id', detail: expect.stringMatching(/last admin token/) });
      expect((await api.call('GET', '/api/v1/topics')).status).toBe(401);
      expect((await api.call('DELETE', `/api/v1/tokens/${reader.id}`, undefined, first.token)).status).toBe(204);
      expect((await api.call('DELETE', `/api/v1/tokens/${first.id}`, undefined, first.token)).status).toBe(409);
      expect((await api.call('GET', '/api/v1/topics')).status).toBe(401);
      // with a second admin token the first may go
      const second = (await api.call('POST', '/api/v1/tokens', { name: 'second', role: 'admin' }, first.token)).body;
      expect((await api.call('DELETE', `/api/v1/tokens/${first.id}`, undefined, second.token)).status).toBe(204);
      expect((await api.call('GET', '/api/v1/topics', undefined, second.token)).status).toBe(200);
      expect((await api.call('GET', '/api/v1/topics')).status).toBe(401);
    } finally {
      await api.close();
      await own.close();
    }
  });

  it('reads the sources for /metrics in the background: 40 concurrent scrapes open no source connection', async () => {
    const source = await cluster.createDatabase('web_src');
    const own = await TestPlatform.create(cluster, 'web_metrics');
    // pg_stat_database.sessions counts every session ever opened on the database, short ones included
    const sessions = async () =>
      Number(
        (
          await cluster.query<{ n: string }>('postgres', `SELECT sessions AS n FROM pg_stat_database WHERE datname = 'web_src'`)
        )[0].n,
      );
    const before = await sessions();
    const api = await TestApi.start(own, () => ({
      ...platformConfig(own.url, [sourceConfig('websrc', source, ['public.*'])]),
      logLevel: 'error',
      metricsSourceIntervalMs: 3_600_000,
    }));
    try {
      const first = await api.call('GET', '/metrics');
      expect(first.body).toContain('tributary_source_up{source="websrc"} 1');
      await waitFor(async () => (await sessions()) > before, 'the first reading of the source to be counted');
      const read = await sessions();
      const scrapes = await Promise.all(Array.from({ length: 40 }, () => api.call('GET', '/metrics')));
      for (const s of scrapes) expect(s.body).toContain('tributary_source_up{source="websrc"} 1');
      expect(await sessions()).toBe(read);
    } finally {
      await api.close();
      await own.close();
    }
  });
});

/**
 * "Deleting the last API token must not silently re-open an API that had authentication on": once on,
 * authentication stays on for the platform database, whatever is deleted or unset, and every server of
 * the platform that shows its names (the standalone /metrics of workers too) asks for a token.
 */
describe('web: authentication never silently turns off', () => {
  const ADMIN = 'the-operators-environment-admin-token';
  let cluster: TestCluster;
  let platform: TestPlatform;
  const tokens = async (p: TestPlatform) =>
    (await p.pool.query<{ name: string }>('SELECT name FROM tributary.api_tokens ORDER BY name')).rows.map((r) => r.name);
  const withAdmin = (c: TributaryConfig): TributaryConfig => ({ ...c, api: { ...c.api, adminToken: ADMIN } });

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    platform = await TestPlatform.create(cluster, 'auth_on');
    await platform.createTopic('auth.t', 1);
  });

  afterAll(async () => {
    await platform?.close();
    await cluster?.stop();
  });

  it('refuses (401) rather than opening when TRIBUTARY_ADMIN_TOKEN is unset after every stored token was deleted', async () => {
    const first = await TestApi.start(platform, withAdmin);
    const reader = (await first.call('POST', '/api/v1/tokens', { name: 'reader', role: 'read' }, ADMIN)).body;
    expect((await first.call('DELETE', `/api/v1/tokens/${reader.id}`, undefined, ADMIN)).status).toBe(204);
    await first.close();
    expect(await tokens(platform)).toEqual([]);

    const restarted = await TestApi.start(platform);
    try {
      const read = await restarted.call('GET', '/api/v1/topics');
      expect(read.status).toBe(401);
      expect(read.body).toMatchObject({ status: 401, detail: expect.stringMatching(/TRIBUTARY_ADMIN_TOKEN/) });
      expect((await restarted.call('POST', '/api/v1/tokens', { name: 'grab', role: 'admin' })).status).toBe(401);
      expect((await restarted.call('GET', '/metrics')).status).toBe(401);
      expect((await restarted.call('GET', '/health')).status).toBe(200);
      expect(await tokens(platform)).toEqual([]);
    } finally {
      await restarted.close();
    }
    // the recovery docs/api.md gives: set TRIBUTARY_ADMIN_TOKEN again
    const recovered = await TestApi.start(platform, withAdmin);
    try {
      expect((await recovered.call('GET', '/api/v1/topics', undefined, ADMIN)).status).toBe(200);
    } finally {
      await recovered.close();
    }
  });

  it('requires the first token created on an open API to be an admin token (422, field role)', async () => {
    const own = await TestPlatform.create(cluster, 'auth_first');
    const api = await TestApi.start(own);
    try {
      for (const role of ['read', 'consumer']) {
        const res = await api.call('POST', '/api/v1/tokens', { name: `first-${role}`, role });
        expect(res.status).toBe(422);
        expect(res.body).toMatchObject({ status: 422, field: 'role', detail: expect.stringMatching(/admin token/) });
      }
      expect(await tokens(own)).toEqual([]);
      expect((await api.call('GET', '/api/v1/topics')).status).toBe(200);
      const admin = (await api.call('POST', '/api/v1/tokens', { name: 'first-admin', role: 'admin' })).body;
      expect((await api.call('GET', '/api/v1/topics')).status).toBe(401);
      expect((await api.call('POST', '/api/v1/tokens', { name: 'reader', role: 'read' }, admin.token)).status).toBe(201);
    } finally {
      await api.close();
      await own.close();
    }
  });

  it("serves a worker's TRIBUTARY_METRICS_PORT with the API's rules: no foreign Host, a token once authentication is on", async () => {
    const worker = await createApp({ ...withAdmin(platformConfig(platform.url, [])), logLevel: 'error', metricsPort: 0 }, [
      'worker',
    ]);
    await worker.init();
    const api = await TestApi.start(platform, withAdmin);
    try {
      const url = `http://127.0.0.1:${worker.get(StandaloneMetrics).port}/metrics`;
      for (const host of ['evil.example', 'localhost.evil.example:9100']) {
        const rebound = await rawRequest(url, 'GET', { host, authorization: `Bearer ${ADMIN}` });
        expect(rebound.status).toBe(421);
        expect(rebound.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(rebound.body).toMatchObject({ status: 421, title: 'Misdirected Request', field: 'Host' });
      }
      const anonymous = await rawRequest(url, 'GET', { host: 'localhost' });
      expect(anonymous.status).toBe(401);
      expect(JSON.stringify(anonymous.body)).not.toContain('auth.t');
      expect((await rawRequest(url, 'GET', { host: 'localhost', authorization: 'Bearer trb_wrong' })).status).toBe(401);
      const scraped = await rawRequest(url, 'GET', { host: 'localhost', authorization: `Bearer ${ADMIN}` });
      expect(scraped.status).toBe(200);
      expect(scraped.body).toContain('tributary_topic_end_offset{topic="auth.t",partition="0"}');
      // a token stored in the platform database (any role) scrapes too, as on the API
      const reader = (await api.call('POST', '/api/v1/tokens', { name: 'scraper', role: 'read' }, ADMIN)).body;
      expect((await rawRequest(url, 'GET', { host: 'localhost', authorization: `Bearer ${reader.token}` })).status).toBe(200);
    } finally {
      await api.close();
      await worker.close();
    }
    const open = await createApp(
      { ...platformConfig(platform.url, []), logLevel: 'error', metricsPort: 0, metricsPublic: true },
      ['capture'],
    );
    await open.init();
    try {
      const url = `http://127.0.0.1:${open.get(StandaloneMetrics).port}/metrics`;
      expect((await rawRequest(url, 'GET', { host: 'localhost' })).status).toBe(200);
      expect((await rawRequest(url, 'GET', { host: 'evil.example' })).status).toBe(421);
    } finally {
      await open.close();
    }
  });

  it('says in /openapi.json that /metrics needs no token only when TRIBUTARY_METRICS_PUBLIC is set', async () => {
    type Doc = { paths: Record<string, Record<string, { security?: unknown[] }>> };
    const guarded = await TestApi.start(platform, withAdmin);
    const scraped = await TestApi.start(platform, (c) => ({ ...withAdmin(c), metricsPublic: true }));
    try {
      const closed = (await guarded.call('GET', '/openapi.json')).body as Doc;
      expect(closed.paths['/metrics'].get.security).toBeUndefined();
      expect(closed.paths['/health'].get.security).toEqual([]);
      const open = (await scraped.call('GET', '/openapi.json')).body as Doc;
      expect(open.paths['/metrics'].get.security).toEqual([]);
      expect(open.paths['/api/v1/topics'].get.security).toBeUndefined();
    } finally {
      await guarded.close();
      await scraped.close();
    }
  });
});
