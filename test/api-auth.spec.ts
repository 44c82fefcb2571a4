import { spawnSync } from 'node:child_process';
import { TestApi } from './support/api';
import { builtApp } from './support/processes';
import { TestCluster } from './support/pg-cluster';
import { TestPlatform } from './support/platform';

const ADMIN = 'admin-token-from-the-environment';

/** Bearer tokens: 401 without a valid one, 403 for a read-only token on writes, secrets never shown again. */
describe('API authentication', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let api: TestApi;
  const call = (method: string, path: string, token?: string, body?: unknown) => api.call(method, path, body, token);

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    platform = await TestPlatform.create(cluster, 'platform');
    await platform.createTopic('auth.t', 1);
    api = await TestApi.start(platform, (c) => ({ ...c, api: { ...c.api, adminToken: ADMIN } }));
  });

  afterAll(async () => {
    await api?.close();
    await platform?.close();
    await cluster?.stop();
  });

  it('keeps liveness and readiness open, and /metrics to any token', async () => {
    expect((await call('GET', '/health')).status).toBe(200);
    expect((await call('GET', '/ready')).status).toBe(200);
    expect((await call('GET', '/metrics')).status).toBe(401);
    expect((await call('GET', '/metrics', ADMIN)).status).toBe(200);
  });

  it('answers 401 without a token or with a wrong one', async () => {
    const none = await call('GET', '/api/v1/topics');
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({
      status: 401,
      title: 'Unauthorized',
      detail: expect.stringMatching(/bearer token is required/),
    });
    expect((await call('GET', '/api/v1/topics', 'wrong-token')).status).toBe(401);
    expect((await call('POST', '/api/v1/groups', undefined, { name: 'g', topics: ['auth.t'] })).status).toBe(401);
    expect((await call('GET', '/api/v1/groups/g')).status).toBe(401);
  });

  it('lets the admin token from the environment create tokens, shown once and stored hashed', async () => {
    const created = await call('POST', '/api/v1/tokens', ADMIN, { name: 'reader', role: 'read' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'reader', role: 'read', token: expect.stringMatching(/^trb_[A-Za-z0-9_-]{43}$/) });
    const list = await call('GET', '/api/v1/tokens', ADMIN);
    expect(list.body).toEqual([expect.objectContaining({ name: 'reader', role: 'read' })]);
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);
    const { rows } = await platform.pool.query('SELECT token_hash FROM tributary.api_tokens');
    expect(rows[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0].token_hash).not.toContain(created.body.token);

    const reader = created.body.token as string;
    expect((await call('GET', '/api/v1/topics', reader)).status).toBe(200);
    const write = await call('POST', '/api/v1/groups', reader, { name: 'by-reader', topics: ['auth.t'] });
    expect(write.status).toBe(403);
    expect(write.body.detail).toMatch(/read token cannot make changes/);
    expect((await call('GET', '/api/v1/tokens', reader)).status).toBe(403);
    const { rows: groups } = await platform.pool.query(`SELECT 1 FROM tributary.consumer_groups WHERE name = 'by-reader'`);
    expect(groups).toEqual([]);
  });

  it('lets a consumer token use the pull API but not administer', async () => {
    expect((await call('POST', '/api/v1/groups', ADMIN, { name: 'pullers', topics: ['auth.t'] })).status).toBe(201);
    const consumer = (await call('POST', '/api/v1/tokens', ADMIN, { name: 'app', role: 'consumer' })).body.token as string;
    const joined = await call('POST', '/api/v1/groups/pullers/members', consumer, {});
    expect(joined.status).toBe(201);
    expect((await call('POST', '/api/v1/groups', consumer, { name: 'other', topics: ['auth.t'] })).status).toBe(403);
    expect((await call('DELETE', `/api/v1/groups/pullers/members/${joined.body.memberId}`, consumer)).status).toBe(204);
  });

  it('rejects bad token requests with the field and changes nothing', async () => {
    const cases: [unknown, string][] = [
      [{ role: 'read' }, 'name'],
      [{ name: 'x', role: 'root' }, 'role'],
      [{ name: 'Bad Name', role: 'read' }, 'name'],
      [{ name: 'x', role: 'read', extra: 1 }, '(body)'],
      ['{not json', ''],
    ];
    const before = await platform.pool.query('SELECT count(*)::int AS n FROM tributary.api_tokens');
    for (const [body, field] of cases) {
      const res = await call('POST', '/api/v1/tokens', ADMIN, body);
      expect(res.status).toBe(400);
      if (field) expect(res.body.field).toBe(field);
    }
    const dup = await call('POST', '/api/v1/tokens', ADMIN, { name: 'reader', role: 'admin' });
    expect(dup.status).toBe(409);
    expect((await call('DELETE', '/api/v1/tokens/999999', ADMIN)).status).toBe(404);
    expect((await call('DELETE', '/api/v1/tokens/abc', ADMIN)).status).toBe(404);
    const after = await platform.pool.query('SELECT count(*)::int AS n FROM tributary.api_tokens');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('revokes a deleted token at once', async () => {
    const created = (await call('POST', '/api/v1/tokens', ADMIN, { name: 'temp', role: 'read' })).body;
    expect((await call('GET', '/api/v1/topics', created.token)).status).toBe(200);
    expect((await call('DELETE', `/api/v1/tokens/${created.id}`, ADMIN)).status).toBe(204);
    expect((await call('GET', '/api/v1/topics', created.token)).status).toBe(401);
  });

  it('refuses to serve the API beyond loopback without an admin token', () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TRIBUTARY_DATABASE_URL: platform.url,
      TRIBUTARY_API_HOST: '0.0.0.0',
      TRIBUTARY_API_PORT: '0',
    };
    delete env.TRIBUTARY_ADMIN_TOKEN;
    delete env.TRIBUTARY_CONFIG;
    const run = spawnSync(process.execPath, [builtApp('api')], { env, encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(78);
    expect(run.stderr).toMatch(/TRIBUTARY_ADMIN_TOKEN: required when the API listens on 0\.0\.0\.0/);
  });
});
