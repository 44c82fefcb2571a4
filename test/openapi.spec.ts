import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiResponses } from '@tributary/api';
import type { z } from 'zod';
import { TestApi } from './support/api';
import { TestCluster } from './support/pg-cluster';
import { TestPlatform } from './support/platform';

const API_SRC = join(__dirname, '..', 'libs', 'api', 'src');

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
      .flatMap((l) => Object.keys(l.route!.methods).map((m) => `${m} ${l.route!.path.replace(/[:*](\w+)/g, '{$1}')}`))
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

  it('lists the query parameters of every route that takes them, from the schemas they are parsed with', async () => {
    type Parameter = { name: string; in: string; required: boolean; schema: Record<string, unknown> };
    const doc = (await (await fetch(`${api.base}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { parameters: Parameter[] }>>;
    };
    const query = (path: string, verb: string) =>
      Object.fromEntries(doc.paths[path][verb].parameters.filter((p) => p.in === 'query').map((p) => [p.name, p.schema]));
    expect(Object.keys(query('/api/v1/topics/{name}/messages', 'get')).sort()).toEqual([
      'at',
      'limit',
      'offset',
      'partition',
      'since',
    ]);
    expect(Object.keys(query('/api/v1/topics/{name}/tail', 'get'))).toEqual(['partition']);
    expect(query('/api/v1/stats/series', 'get').window).toMatchObject({ enum: ['15m', '1h', '6h', '24h'] });
    expect(Object.keys(query('/api/v1/dead-letters', 'get')).sort()).toEqual(['before', 'group', 'limit', 'topic']);
    expect(Object.keys(query('/api/v1/groups/{group}/attempts', 'get')).sort()).toEqual(
      ['before', 'failed', 'limit', 'offset', 'partition', 'topic'].sort(),
    );
    expect(Object.keys(query('/api/v1/groups/{group}/dead-letters', 'get'))).toEqual(['limit']);
    expect(query('/api/v1/sources/{name}', 'delete')).toEqual({ dropSlot: { type: 'string', enum: ['true', 'false'] } });
    expect(Object.keys(query('/api/v1/config/apply', 'post')).sort()).toEqual(['dryRun', 'prune']);
    expect(query('/api/v1/topics/{name}/messages', 'get').limit).toMatchObject({ type: 'string', pattern: expect.any(String) });
    // One way to read them: every handler parses its query with @ValidQuery, which is what the document lists.
    const sources = readdirSync(API_SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const raw = sources.filter((f) =>
      /@Query\(|\b(req|request|getRequest<Request>\(\))\.query\b/.test(readFileSync(join(API_SRC, f), 'utf8')),
    );
    expect(raw).toEqual(['query-params.ts']);
  });

  it('describes what every route answers', async () => {
    type Operation = { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> };
    const doc = (await (await fetch(`${api.base}/openapi.json`)).json()) as { paths: Record<string, Record<string, Operation>> };
    const undescribed = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => {
          const [status, success] = Object.entries(op.responses).find(([code]) => /^[23]/.test(code)) ?? [];
          if (status === '204' || status?.startsWith('3')) return false;
          return !success?.content || !Object.values(success.content).every((c) => c.schema !== undefined);
        })
        .map(([verb]) => `${verb} ${path}`),
    );
    expect(undescribed).toEqual([]);
    const tokens = doc.paths['/api/v1/tokens'].post.responses['201'].content?.['application/json'].schema;
    expect(tokens).toMatchObject({ type: 'object', properties: { token: { type: 'string' } } });
    expect(doc.paths['/api/v1/tokens/{id}'].delete.responses['204']).toBeDefined();
    expect(doc.paths['/'].get.responses['302']).toMatchObject({ description: 'redirects to /console/' });
    expect(Object.keys(doc.paths['/api/v1/stats/live'].get.responses['200'].content ?? {})).toEqual(['text/event-stream']);
    expect(Object.keys(doc.paths['/api/v1/topics/{name}/tail'].get.responses['200'].content ?? {})).toEqual([
      'text/event-stream',
    ]);
    expect(doc.paths['/console/{path}']).toBeDefined();
    expect(doc.paths['/api/v1/groups/{group}/pause'].post.responses['200'].content?.['application/json'].schema).toMatchObject({
      required: ['group', 'paused'],
    });
  });

  it('answers what it documents', async () => {
    const admin = 'a-long-enough-admin-token';
    const conforms = async (schema: z.ZodType, method: string, path: string, body?: unknown) => {
      const res = await api.call(method, path, body, admin);
      expect(res.status).toBeLessThan(300);
      expect({ path, error: schema.safeParse(res.body).error?.issues }).toEqual({ path, error: undefined });
    };
    await conforms(ApiResponses.topicInfo, 'POST', '/api/v1/topics', { name: 'doc.t', partitions: 2 });
    await conforms(ApiResponses.topicList, 'GET', '/api/v1/topics');
    await conforms(ApiResponses.topicWithOffsets, 'GET', '/api/v1/topics/doc.t');
    await conforms(ApiResponses.messagesPage, 'GET', '/api/v1/topics/doc.t/messages?partition=1');
    await conforms(ApiResponses.tokenCreated, 'POST', '/api/v1/tokens', { name: 'doc-reader', role: 'read' });
    await conforms(ApiResponses.tokenList, 'GET', '/api/v1/tokens');
    await conforms(ApiResponses.group, 'POST', '/api/v1/groups', { name: 'doc-g', topics: ['doc.t'] });
    await conforms(ApiResponses.group, 'GET', '/api/v1/groups/doc-g');
    await conforms(ApiResponses.groupList, 'GET', '/api/v1/groups');
    await conforms(ApiResponses.pauseState, 'POST', '/api/v1/groups/doc-g/pause');
    await conforms(ApiResponses.groupEvents, 'GET', '/api/v1/groups/doc-g/events');
    await conforms(ApiResponses.sinkList, 'GET', '/api/v1/sinks');
    await conforms(ApiResponses.sourceList, 'GET', '/api/v1/sources');
    await conforms(ApiResponses.deadLetterList, 'GET', '/api/v1/dead-letters');
    await conforms(ApiResponses.configDocument, 'GET', '/api/v1/config');
    await conforms(ApiResponses.applyResult, 'POST', '/api/v1/config/apply?dryRun=true', { topics: [{ name: 'doc.u' }] });
    await conforms(ApiResponses.pullJoined, 'POST', '/api/v1/groups/doc-g/members', {});
    await conforms(ApiResponses.statsSeries, 'GET', '/api/v1/stats/series?window=6h');
    await conforms(ApiResponses.health, 'GET', '/health');
    await conforms(ApiResponses.readiness, 'GET', '/ready');
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
