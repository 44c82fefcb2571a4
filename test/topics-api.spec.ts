import { TestApi } from './support/api';
import { TestCluster } from './support/pg-cluster';
import { TestPlatform } from './support/platform';

/** Topic lifecycle through the API: create, change retention, delete with its messages and positions. */
describe('topics API', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let api: TestApi;
  const call = (method: string, path: string, body?: unknown) => api.call(method, path, body);
  const count = async (table: string) =>
    (await platform.pool.query(`SELECT count(*)::int AS n FROM tributary.${table} WHERE topic = 'orders'`)).rows[0].n as number;

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    platform = await TestPlatform.create(cluster, 'platform');
    api = await TestApi.start(platform, (c) => ({ ...c, topicDefaults: { ...c.topicDefaults, partitions: 3 } }));
  });

  afterAll(async () => {
    await api?.close();
    await platform?.close();
    await cluster?.stop();
  });

  it('creates a topic with its partitions, with topicDefaults for what is omitted', async () => {
    const created = await call('POST', '/api/v1/topics', { name: 'orders', partitions: 6, retentionMs: null });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'orders', partitions: 6, retentionMs: null, retentionBytes: null });
    expect(await count('topic_partitions')).toBe(6);
    expect((await call('POST', '/api/v1/topics', { name: 'plain' })).body).toMatchObject({
      partitions: 3,
      retentionMs: 604_800_000,
    });
    const dup = await call('POST', '/api/v1/topics', { name: 'orders', partitions: 2 });
    expect(dup).toMatchObject({ status: 409, body: { field: 'name' } });
    expect(await count('topic_partitions')).toBe(6);
  });

  it('changes retention only, and validates', async () => {
    const changed = await call('PATCH', '/api/v1/topics/orders', { retentionMs: 3_600_000, retentionBytes: 1_000_000 });
    expect(changed.body).toMatchObject({ retentionMs: 3_600_000, retentionBytes: 1_000_000, partitions: 6 });
    expect((await call('PATCH', '/api/v1/topics/orders', { retentionBytes: null })).body).toMatchObject({
      retentionMs: 3_600_000,
      retentionBytes: null,
    });
    for (const [body, field] of [
      [{}, '(body)'],
      [{ partitions: 12 }, '(body)'],
      [{ retentionMs: 5 }, 'retentionMs'],
      [{ retentionBytes: 'big' }, 'retentionBytes'],
    ] as const) {
      expect(await call('PATCH', '/api/v1/topics/orders', body)).toMatchObject({ status: 400, body: { field } });
    }
    expect((await call('PATCH', '/api/v1/topics/nope', { retentionMs: null })).status).toBe(404);
    expect((await call('GET', '/api/v1/topics/orders')).body).toMatchObject({ retentionMs: 3_600_000, retentionBytes: null });
  });

  it('answers 409 to an update of a version that changed meanwhile (If-Match), never losing an update', async () => {
    const read = await call('GET', '/api/v1/topics/plain');
    const etag = read.headers.get('etag') as string;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    // Two clients edit the same version at once: one wins, the other is told to read again.
    const [a, b] = await Promise.all([
      api.call('PATCH', '/api/v1/topics/plain', { retentionMs: 60_000 }, undefined, { 'if-match': etag }),
      api.call('PATCH', '/api/v1/topics/plain', { retentionBytes: 5_000 }, undefined, { 'if-match': etag }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const loser = a.status === 409 ? a : b;
    expect(loser.body).toMatchObject({ field: 'If-Match', detail: expect.stringMatching(/changed since/) });
    const winner = a.status === 200 ? a : b;
    const now = await call('GET', '/api/v1/topics/plain');
    expect(now.headers.get('etag')).toBe(winner.headers.get('etag'));
    expect(now.body).toMatchObject(
      a.status === 200 ? { retentionMs: 60_000, retentionBytes: null } : { retentionMs: 604_800_000, retentionBytes: 5_000 },
    );
    // Without If-Match the last write wins, as before.
    expect((await call('PATCH', '/api/v1/topics/plain', { retentionMs: 120_000 })).status).toBe(200);
  });

  it('browses a partition by offset or by time, page by page', async () => {
    await platform.createTopic('browse', 1);
    await platform.produce('browse', 1, 10, 10, 0, 1);
    await platform.pool.query(
      `UPDATE tributary.message_batches SET appended_at = '2026-01-01T00:00:00Z'::timestamptz + base_offset * interval '1 minute'
        WHERE topic = 'browse'`,
    );
    const page = async (query: string) => (await call('GET', `/api/v1/topics/browse/messages?${query}`)).body;
    const first = await page('partition=0&offset=0&limit=4');
    expect(first.messages.map((m: { offset: string }) => m.offset)).toEqual(['0', '1', '2', '3']);
    expect(first.nextOffset).toBe('4');
    const next = await page(`partition=0&offset=${first.nextOffset}&limit=4`);
    expect(next.messages.map((m: { offset: string }) => m.offset)).toEqual(['4', '5', '6', '7']);
    const byTime = await page('partition=0&since=2026-01-01T00:06:30Z&limit=2');
    expect(byTime.messages.map((m: { offset: string }) => m.offset)).toEqual(['7', '8']);
    expect(await page('partition=0&since=2027-01-01T00:00:00Z')).toEqual({ messages: [], nextOffset: '10' });
    expect(await page('partition=0&since=yesterday')).toMatchObject({ status: 400, field: 'since' });
    expect(await page('partition=0&since=2026-01-01T00:00:00Z&offset=3')).toMatchObject({ status: 400, field: 'since' });
    expect(await page('partition=1')).toMatchObject({ status: 400, field: 'partition' });
  });

  it('deletes a topic with its messages and every group position in it', async () => {
    await platform.produce('orders', 6, 40, 10);
    await call('POST', '/api/v1/groups', { name: 'readers', topics: ['orders'] });
    const { memberId } = (await call('POST', '/api/v1/groups/readers/members', {})).body;
    await call('DELETE', `/api/v1/groups/readers/members/${memberId}`);
    expect(await count('group_offsets')).toBe(6);
    expect((await call('DELETE', '/api/v1/topics/orders')).status).toBe(204);
    for (const table of ['message_batches', 'topic_partitions', 'group_offsets', 'partition_leases'])
      expect(await count(table)).toBe(0);
    expect((await call('GET', '/api/v1/topics/orders')).status).toBe(404);
    expect((await call('DELETE', '/api/v1/topics/orders')).status).toBe(404);
  });
});
