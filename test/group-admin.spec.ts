import type { GroupConfig } from '@tributary/config';
import { GroupMember, GroupRepository, MessageNotifier } from '@tributary/consumer-groups';
import type { ConsumedMessage, Sink } from '@tributary/sink-contract';
import { GroupRunner } from '@tributary/worker';
import { TestApi } from './support/api';
import { TestCluster, waitFor } from './support/pg-cluster';
import { TestPlatform } from './support/platform';

class RecordingSink implements Sink {
  readonly kind = 'recording';
  readonly seen: ConsumedMessage[] = [];
  deliver(batch: ConsumedMessage[]): Promise<void> {
    this.seen.push(...batch);
    return Promise.resolve();
  }
}

const GROUP: GroupConfig = {
  name: 'adm-g',
  topics: ['adm'],
  startFrom: 'earliest',
  resetPolicy: 'earliest',
  sessionTimeoutMs: 1_500,
  batchSize: 100,
  members: 1,
  sink: { type: 'log' },
  retry: { maxAttempts: 3, initialBackoffMs: 5, maxBackoffMs: 20 },
  onFailure: 'dead_letter',
};

/** Pause, resume and offset resets through the API, with a running member that obeys them. */
describe('group administration', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let api: TestApi;
  let notifier: MessageNotifier;
  let runner: GroupRunner;
  let member: GroupMember;
  const sink = new RecordingSink();

  const call = (method: string, path: string, body?: unknown) => api.call(method, path, body);
  const committed = async () =>
    (
      await platform.pool.query(
        `SELECT partition, next_offset FROM tributary.group_offsets WHERE group_name = 'adm-g' ORDER BY partition`,
      )
    ).rows.map((r) => `${r.partition}:${r.next_offset}`);

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    platform = await TestPlatform.create(cluster, 'platform');
    await platform.createTopic('adm', 2);
    await platform.produce('adm', 2, 50, 50);
    api = await TestApi.start(platform);
    expect((await call('POST', '/api/v1/groups', { name: 'adm-g', topics: ['adm'], sessionTimeoutMs: 1_500 })).status).toBe(201);
    notifier = new MessageNotifier(platform.url);
    await notifier.start();
    const repo = new GroupRepository(platform.pool);
    member = new GroupMember(repo, { ...GROUP }, 'test');
    runner = new GroupRunner(member, GROUP, repo, sink, notifier);
    runner.start();
    await waitFor(() => sink.seen.length === 50, 'the first 50 messages');
  });

  afterAll(async () => {
    await runner?.stop();
    await notifier?.close();
    await api?.close();
    await platform?.close();
    await cluster?.stop();
  });

  it('refuses to reset the offsets of a running group, and changes nothing', async () => {
    const before = await committed();
    const res = await call('POST', '/api/v1/groups/adm-g/offsets/reset', { to: 'earliest' });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ field: 'group', detail: expect.stringMatching(/must be paused/) });
    expect(await committed()).toEqual(before);
  });

  it('stops consuming while paused', async () => {
    expect((await call('POST', '/api/v1/groups/adm-g/pause')).body).toEqual({ group: 'adm-g', paused: true });
    const seen = member.lastHeartbeatAt?.getTime() ?? 0;
    await waitFor(() => (member.lastHeartbeatAt?.getTime() ?? 0) > seen && member.paused, 'the member to see the pause');
    await platform.produce('adm', 2, 20, 20, 50);
    const next = member.lastHeartbeatAt?.getTime() ?? 0;
    await waitFor(() => (member.lastHeartbeatAt?.getTime() ?? 0) > next, 'another membership round');
    expect(sink.seen.length).toBe(50);
    expect((await call('GET', '/api/v1/groups/adm-g')).body).toMatchObject({ paused: true, lag: '20' });
    expect((await call('GET', '/api/v1/groups')).body).toEqual([
      { name: 'adm-g', topics: ['adm'], sink: 'pull', paused: true, members: 1, lag: '20', blocked: 0 },
    ]);
  });

  it('validates reset requests: 4xx with the field, nothing changed', async () => {
    const before = await committed();
    const cases: [unknown, number, string][] = [
      [{ to: 'middle' }, 400, 'to'],
      [{}, 400, 'to'],
      [{ to: 'earliest', extra: true }, 400, '(body)'],
      [{ to: { timestamp: 'yesterday' } }, 400, 'to.timestamp'],
      [{ to: { offset: 5 } }, 400, 'partition'],
      [{ to: { offset: -1 }, topic: 'adm', partition: 0 }, 400, 'to.offset'],
      [{ to: 'earliest', partition: 0 }, 400, 'topic'],
      [{ to: { offset: '99999' }, topic: 'adm', partition: 0 }, 422, 'to.offset'],
      [{ to: 'earliest', topic: 'adm', partition: 7 }, 404, 'partition'],
    ];
    for (const [body, status, field] of cases) {
      const res = await call('POST', '/api/v1/groups/adm-g/offsets/reset', body);
      expect({ body, status: res.status, field: res.body.field }).toEqual({ body, status, field });
    }
    expect((await call('POST', '/api/v1/groups/nope/offsets/reset', { to: 'earliest' })).status).toBe(404);
    expect((await call('POST', '/api/v1/groups/nope/pause')).status).toBe(404);
    expect(await committed()).toEqual(before);
  });

  it('resets a paused group, and the member replays from there after resume', async () => {
    const reset = await call('POST', '/api/v1/groups/adm-g/offsets/reset', { to: 'earliest' });
    expect(reset.status).toBe(200);
    expect(reset.body.resets.map((r: { to: string }) => r.to)).toEqual(['0', '0']);
    const single = await call('POST', '/api/v1/groups/adm-g/offsets/reset', { to: { offset: 3 }, topic: 'adm', partition: 1 });
    expect(single.body).toEqual({
      group: 'adm-g',
      dryRun: false,
      resets: [{ topic: 'adm', partition: 1, from: '0', to: '3', committedOffset: '0', newOffset: '3', redelivered: -3 }],
    });
    expect((await call('POST', '/api/v1/groups/adm-g/resume')).body.paused).toBe(false);

    await waitFor(async () => (await call('GET', '/api/v1/groups/adm-g')).body.lag === '0', 'the group to catch up');
    const replayed = sink.seen.slice(50);
    const p1 = replayed.filter((m) => m.partition === 1).map((m) => Number(m.offset));
    const p0 = replayed.filter((m) => m.partition === 0).map((m) => Number(m.offset));
    expect(p0[0]).toBe(0);
    expect(p1[0]).toBe(3);
    expect(replayed.length).toBe(70 - 3);
    const events = (await call('GET', '/api/v1/groups/adm-g/events')).body as { kind: string }[];
    expect(events.filter((e) => e.kind === 'offset_reset_manual').length).toBe(3);
  });
});
