import { TestApi } from './support/api';
import { TestCluster } from './support/pg-cluster';
import { TestPlatform } from './support/platform';

/**
 * A NATS sink managed through the API: hostile input is a 400 naming the field and creates nothing, the
 * URL's password and token never come back, and a masked password is kept only for the same server.
 */
describe('nats sinks through the API', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let api: TestApi;
  const seen: string[] = [];

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    platform = await TestPlatform.create(cluster, 'platform');
    api = await TestApi.start(platform);
  });
  afterAll(async () => {
    await api?.close();
    await platform?.close();
    await cluster?.stop();
  });

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await api.call(method, `/api/v1${path}`, body, undefined, headers);
    seen.push(res.text);
    return res;
  }

  const group = (sink: Record<string, unknown>) => ({
    name: 'to-nats',
    topics: ['shop.public.*'],
    sink: { type: 'nats', url: 'nats://app:hunter2@nats.internal:4222', ...sink },
  });

  it('refuses bad settings with the field, and creates nothing', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ subject: 'cdc.{table}.{partition}' }, 'sink.subject'],
      [{ subject: 'cdc.>' }, 'sink.subject'],
      [{ url: 'nats://tokenonly@nats.internal:4222' }, 'sink.url'],
      [{ url: 'redis://nats.internal:4222' }, 'sink.url'],
      [{ replicas: 7 }, 'sink.replicas'],
      [{ stream: 'a.b' }, 'sink.stream'],
    ];
    for (const [sink, field] of cases) {
      const res = await call('POST', '/groups', group(sink));
      expect({ sink, status: res.status, field: (res.body as { field?: string }).field }).toEqual({ sink, status: 400, field });
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
    expect((await call('GET', '/groups')).body).toEqual([]);
  });

  it('masks the password, keeps it when sent back masked to the same server, refuses it for another', async () => {
    const created = await call('POST', '/groups', group({ replicas: 3 }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ sink: { type: 'nats', url: 'nats://app:***@nats.internal:4222', replicas: 3 } });
    const shown = await call('GET', '/groups/to-nats');
    const etag = shown.headers.get('etag') as string;
    const spec = shown.body as { sink: Record<string, unknown> };

    const moved = await call(
      'PUT',
      '/groups/to-nats',
      { ...group({}), sink: { ...spec.sink, url: 'nats://app:***@evil.example:4222' } },
      { 'if-match': etag },
    );
    expect(moved.status).toBe(422); // as for every write-only secret (WriteOnlySecretError)
    expect((moved.body as { field?: string }).field).toBe('sink.url');

    const kept = await call(
      'PUT',
      '/groups/to-nats',
      { ...group({}), sink: { ...spec.sink, maxAgeMs: 60_000 } },
      { 'if-match': etag },
    );
    expect(kept.status).toBe(200);
    const stored = await platform.pool.query<{ url: string }>(
      `SELECT runtime->'sink'->>'url' AS url FROM tributary.consumer_groups WHERE name = 'to-nats'`,
    );
    expect(stored.rows[0].url).toBe('nats://app:hunter2@nats.internal:4222');
    expect((await call('GET', '/sinks')).body).toEqual([
      expect.objectContaining({
        group: 'to-nats',
        type: 'nats',
        settings: expect.objectContaining({ url: 'nats://app:***@nats.internal:4222' }),
      }),
    ]);
    expect(seen.join('\n')).not.toContain('hunter2');
  });
});
