import { TestApi } from './support/api';
import { TestCluster } from './support/pg-cluster';
import { TestPlatform } from './support/platform';

/** The OpenAPI document lists every route the server has, with the bodies it enforces; /docs renders it. */
describe('OpenAPI document and interactive docs', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let api: TestApi;

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    platform = await TestPlatform.create(cluster, 'platform');
    api = await TestApi.start(platform, (c) => ({ ...c, api: { ...c.api, adminToken: 'a-long-enough-admin-token' } }));
  });

  afterAll(async () => {
    await api?.close();
    await platform?.close();
    await cluster?.stop();
  });

  it('documents every registered route (and is readable without a token)', async () => {
    const res = await fetch(`${api.base}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    type Layer = { route?: { path: string; methods: Record<string, boolean> } };
    const express = api.app.getHttpAdapter().getInstance() as { router?: { stack: Layer[] }; _router?: { stack: Layer[] } };
    const stack = (express.router ?? express._router)?.stack ?? [];
    const registered = stack
      .filter((l) => l.route)
      .flatMap((l) => Object.keys(l.route!.methods).map((m) => `${m} ${l.route!.path.replace(/:(\w+)/g, '{$1}')}`))
      .sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`))
      .sort();
    expect(documented).toEqual(registered);
    expect(registered.length).toBeGreaterThan(20);
  });

  it('shows the validated body schemas', async () => {
    const doc = (await (await fetch(`${api.base}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Record<string, unknown> }> } }>>;
    };
    const token = doc.paths['/api/v1/tokens'].post.requestBody?.content['application/json'].schema;
    expect(token).toMatchObject({
      type: 'object',
      required: ['name', 'role'],
      additionalProperties: false,
      properties: { role: { enum: ['admin', 'read', 'consumer'] } },
    });
    const group = doc.paths['/api/v1/groups'].post.requestBody?.content['application/json'].schema;
    expect(group).toMatchObject({ properties: { sessionTimeoutMs: { minimum: 1000, maximum: 300000 } } });
  });

  it('serves Swagger UI from the installed package', async () => {
    const page = await fetch(`${api.base}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/docs/assets/swagger-ui-bundle.js');
    const js = await fetch(`${api.base}/docs/assets/swagger-ui-bundle.js`);
    expect(js.status).toBe(200);
    expect((await js.text()).length).toBeGreaterThan(100_000);
    expect((await fetch(`${api.base}/docs/assets/..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${api.base}/docs/assets/index.html`)).status).toBe(404);
  });
});
