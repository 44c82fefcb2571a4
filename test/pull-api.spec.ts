import type { INestApplication } from '@nestjs/common';
import { createApp } from '@tributary/runtime';
import { callApi } from './support/api';
import { platformConfig } from './support/capture-harness';
import { TestCluster } from './support/pg-cluster';
import { TestPlatform } from './support/platform';
import { sleep } from '@tributary/timing';

/** The HTTP pull API, through a real HTTP server, against a real platform database. */
describe('HTTP pull API', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let app: INestApplication;
  let base: string;

  const call = (method: string, path: string, body?: unknown) => callApi(base, method, path, body);

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    platform = await TestPlatform.create(cluster, 'platform');
    await platform.createTopic('pull.t', 2);
    await platform.produce('pull.t', 2, 20, 20);
    app = (await createApp({ ...platformConfig(platform.url, []), logLevel: 'error' }, ['api'])) as INestApplication;
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
    base = base.replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    await platform?.close();
    await cluster?.stop();
  });

  it('joins, fetches with a visibility timeout, acks, nacks, and commits the contiguous prefix', async () => {
    expect((await call('POST', '/api/v1/groups', { name: 'puller', topics: ['pull.*'], sessionTimeoutMs: 2000 })).status).toBe(
      201,
    );
    const joined = await call('POST', '/api/v1/groups/puller/members', {});
    expect(joined.status).toBe(201);
    const member = joined.body.memberId as string;
    expect(joined.body.partitions).toHaveLength(2);

    const first = await call('POST', `/api/v1/groups/puller/members/${member}/fetch`, {
      maxMessages: 100,
      visibilityTimeoutMs: 300,
    });
    expect(first.status).toBe(200);
    expect(first.body.messages).toHaveLength(20);
    expect(first.body.messages[0]).toMatchObject({ topic: 'pull.t', attempt: 1, envelope: { op: 'c' } });

    // Ack all of partition 0 but its second message; nack the first of partition 1; leave the rest in flight.
    const p0 = first.body.messages.filter((m: { partition: number }) => m.partition === 0);
    const p1 = first.body.messages.filter((m: { partition: number }) => m.partition === 1);
    const ack = await call('POST', `/api/v1/groups/puller/members/${member}/ack`, {
      messages: p0
        .filter((_: unknown, i: number) => i !== 1)
        .map(({ topic, partition, offset }: Record<string, unknown>) => ({ topic, partition, offset })),
    });
    expect(ack.status).toBe(200);
    expect(ack.body.committed).toEqual([{ topic: 'pull.t', partition: 0, nextOffset: '1' }]);

    // Offsets never handed out (or past the log's end) are refused: they would commit over unread messages.
    const bogus = await call('POST', `/api/v1/groups/puller/members/${member}/ack`, {
      messages: [
        { topic: 'pull.t', partition: 0, offset: 1_000 },
        { topic: 'pull.t', partition: 0, offset: p0[0].offset }, // acknowledged before: idempotent
      ],
    });
    expect(bogus.body.rejected).toEqual([
      { topic: 'pull.t', partition: 0, offset: '1000', reason: 'offset was not delivered to this member; fetch it first' },
    ]);
    expect(bogus.body.acked).toEqual([{ topic: 'pull.t', partition: 0, offset: String(p0[0].offset) }]);
    expect((await call('GET', '/api/v1/groups/puller')).body.partitions[0]).toMatchObject({ partition: 0, committed: '1' });
    const nack = await call('POST', `/api/v1/groups/puller/members/${member}/nack`, {
      messages: [{ topic: 'pull.t', partition: 1, offset: p1[0].offset }],
    });
    expect(nack.body).toEqual({ nacked: 1 });

    // The nacked message comes back at once; the rest once their visibility timeout passes.
    const again = await call('POST', `/api/v1/groups/puller/members/${member}/fetch`, { visibilityTimeoutMs: 60_000 });
    expect(
      again.body.messages.map((m: { partition: number; offset: string; attempt: number }) => [m.partition, m.offset, m.attempt]),
    ).toEqual([[1, p1[0].offset, 2]]);
    await sleep(400);
    const later = await call('POST', `/api/v1/groups/puller/members/${member}/fetch`, { visibilityTimeoutMs: 60_000 });
    const redelivered = later.body.messages
      .map((m: { partition: number; offset: string }) => `${m.partition}:${m.offset}`)
      .sort();
    expect(redelivered).toEqual(['0:1', ...p1.slice(1).map((m: { offset: string }) => `1:${m.offset}`)].sort());

    const all = [...later.body.messages, ...again.body.messages].map(({ topic, partition, offset }: Record<string, unknown>) => ({
      topic,
      partition,
      offset,
    }));
    const done = await call('POST', `/api/v1/groups/puller/members/${member}/ack`, { messages: all });
    expect(done.body.committed.map((c: { nextOffset: string }) => c.nextOffset).sort()).toEqual(
      [String(p0.length), String(p1.length)].sort(),
    );

    const group = await call('GET', '/api/v1/groups/puller');
    expect(group.body).toMatchObject({ name: 'puller', lag: '0', members: [{ memberId: member, client: 'http' }] });
    expect((await call('DELETE', `/api/v1/groups/puller/members/${member}`)).status).toBe(204);
    expect((await call('GET', '/api/v1/groups/puller')).body.members).toEqual([]);
  });

  it.each([
    ['POST', '/api/v1/groups', 400, 'name', { name: 'Bad Name', topics: ['x'] }],
    ['POST', '/api/v1/groups', 400, 'topics', { name: 'g', topics: [] }],
    ['POST', '/api/v1/groups', 400, '(body)', { name: 'g', topics: ['x'], extra: 1 }],
    ['POST', '/api/v1/groups', 400, 'sessionTimeoutMs', { name: 'g', topics: ['x'], sessionTimeoutMs: 5 }],
    ['POST', '/api/v1/groups', 400, undefined, '{"name": '],
    ['POST', '/api/v1/groups/nope/members', 404, 'group', {}],
    ['POST', '/api/v1/groups/puller/members/ghost/fetch', 404, 'member', {}],
    ['GET', '/api/v1/groups/nope', 404, 'group', undefined],
  ])('%s %s answers %i problem+json naming %s, changing nothing', async (method, path, status, field, body) => {
    const before = await platform.pool.query('SELECT count(*)::int AS n FROM tributary.consumer_groups');
    const res = await call(method, path, body);
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ status, type: 'about:blank' });
    if (field) expect(res.body.field).toBe(field);
    const after = await platform.pool.query('SELECT count(*)::int AS n FROM tributary.consumer_groups');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('rejects a duplicate group with 409', async () => {
    await call('POST', '/api/v1/groups', { name: 'dupe', topics: ['pull.t'] });
    const res = await call('POST', '/api/v1/groups', { name: 'dupe', topics: ['pull.t'] });
    expect(res.status).toBe(409);
    expect(res.body.field).toBe('name');
  });
});
