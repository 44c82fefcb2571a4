import { ApiClient, runCli } from '@tributary/cli';
import { GroupRepository } from '@tributary/consumer-groups';
import { TestApi } from './support/api';
import { TestCluster } from './support/pg-cluster';
import { TestPlatform } from './support/platform';
import { WebhookReceiver } from './support/webhook-receiver';

/** Dead letters of any group: list with filters, inspect with the message, discard. */
describe('dead letters API', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let api: TestApi;

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    platform = await TestPlatform.create(cluster, 'platform');
    await platform.createTopic('dl.t', 1);
    await platform.produce('dl.t', 1, 5, 5);
    // Parked the way a runner parks a message that failed every attempt.
    const repo = new GroupRepository(platform.pool);
    const messages = await repo.fetch('dl.t', 0, 0n, 5);
    await repo.deadLetter('alpha', messages[1], 'HTTP 500: nope', 5);
    await repo.deadLetter('alpha', messages[3], 'constraint violated', 5);
    await repo.deadLetter('beta', messages[3], 'timeout', 2);
    api = await TestApi.start(platform);
  });

  afterAll(async () => {
    await api?.close();
    await platform?.close();
    await cluster?.stop();
  });

  it('lists newest first, filtered by group and topic, paged by id', async () => {
    const all = (await api.call('GET', '/api/v1/dead-letters')).body as { id: string; group: string; offset: string }[];
    expect(all.map((d) => [d.group, d.offset])).toEqual([
      ['beta', '3'],
      ['alpha', '3'],
      ['alpha', '1'],
    ]);
    expect((await api.call('GET', '/api/v1/dead-letters?group=alpha')).body).toHaveLength(2);
    expect((await api.call('GET', '/api/v1/dead-letters?topic=other')).body).toEqual([]);
    const page = (await api.call('GET', `/api/v1/dead-letters?limit=1&before=${all[0].id}`)).body;
    expect(page.map((d: { id: string }) => d.id)).toEqual([all[1].id]);
    expect((await api.call('GET', '/api/v1/dead-letters?limit=0')).body).toMatchObject({ status: 400, field: 'limit' });
  });

  it('shows one with its message, and discards it', async () => {
    const [newest] = (await api.call('GET', '/api/v1/dead-letters?group=beta')).body as { id: string }[];
    const one = await api.call('GET', `/api/v1/dead-letters/${newest.id}`);
    expect(one.body).toMatchObject({ group: 'beta', error: 'timeout', attempts: 2, envelope: { id: 'm3', after: { seq: 3 } } });
    expect((await api.call('DELETE', `/api/v1/dead-letters/${newest.id}`)).status).toBe(204);
    expect((await api.call('GET', `/api/v1/dead-letters/${newest.id}`)).status).toBe(404);
    expect((await api.call('DELETE', `/api/v1/dead-letters/${newest.id}`)).status).toBe(404);
    expect((await api.call('DELETE', '/api/v1/dead-letters/x1')).body).toMatchObject({ status: 404, field: 'id' });
    expect((await api.call('GET', '/api/v1/dead-letters')).body).toHaveLength(2);
  });

  it("replays a webhook group's dead letters from the CLI and removes them once delivered", async () => {
    const receiver = await WebhookReceiver.start();
    try {
      const sink = { type: 'webhook', url: receiver.url, allowPrivateNetworks: true };
      expect((await api.call('POST', '/api/v1/groups', { name: 'alpha', topics: ['dl.t'], sink })).status).toBe(201);
      const [one] = (await api.call('GET', '/api/v1/dead-letters?group=alpha')).body as { id: string }[];
      const lines: string[] = [];
      const cli = (...argv: string[]) =>
        runCli(argv, (t) => lines.push(t), new ApiClient(api.base)).then(() => lines.splice(0).join('\n'));
      expect(await cli('dlq', 'list', '--group', 'alpha')).toMatch(/^\d+\s+alpha\s+dl\.t\s+0\s+3\s+5\s+constraint violated/m);
      expect(await cli('dlq', 'show', one.id)).toContain('"error": "constraint violated"');

      await runCli(['dlq', 'replay', '--group', 'alpha'], (t) => lines.push(t), new ApiClient(api.base));
      expect(lines.splice(0)).toEqual(['2 of 2 dead letter(s) of group alpha delivered and removed']);
      expect(receiver.received.map((r) => JSON.parse(r.body).after.seq)).toEqual([1, 3]); // oldest first
      expect(receiver.received.map((r) => r.headers['webhook-signature'])).toEqual([
        expect.stringMatching(/^v1,/),
        expect.stringMatching(/^v1,/),
      ]);
      expect((await api.call('GET', '/api/v1/dead-letters?group=alpha')).body).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('delivers a dead letter once when two replays of it race', async () => {
    const receiver = await WebhookReceiver.start();
    try {
      receiver.reply = () => ({ status: 204, delayMs: 500 });
      const sink = { type: 'webhook', url: receiver.url, allowPrivateNetworks: true };
      expect((await api.call('POST', '/api/v1/groups', { name: 'racing', topics: ['dl.t'], sink })).status).toBe(201);
      const repo = new GroupRepository(platform.pool);
      const [message] = await repo.fetch('dl.t', 0, 2n, 1);
      await repo.deadLetter('racing', message, 'HTTP 500', 5);
      const [dead] = (await api.call('GET', '/api/v1/dead-letters?group=racing')).body as { id: string }[];
      const answers = await Promise.all([1, 2].map(() => api.call('POST', `/api/v1/dead-letters/${dead.id}/replay`)));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
      expect(answers.find((a) => a.status === 409)?.body).toMatchObject({
        field: 'id',
        detail: expect.stringContaining('right now'),
      });
      expect(receiver.received).toHaveLength(1);
      expect((await api.call('POST', `/api/v1/dead-letters/${dead.id}/replay`)).status).toBe(404); // delivered and removed
    } finally {
      await receiver.close();
    }
  });

  it('refuses to replay a dead letter whose group is gone or does not deliver outside', async () => {
    const repo = new GroupRepository(platform.pool);
    const [message] = await repo.fetch('dl.t', 0, 0n, 1);
    await repo.deadLetter('gone', message, 'HTTP 500', 5);
    await repo.deadLetter('logged', message, 'log sink failed', 5);
    expect((await api.call('POST', '/api/v1/groups', { name: 'logged', topics: ['dl.t'], sink: { type: 'log' } })).status).toBe(
      201,
    );
    for (const [group, detail] of [
      ['gone', 'no longer exists'],
      ['logged', 'has a log sink'],
    ]) {
      const [dead] = (await api.call('GET', `/api/v1/dead-letters?group=${group}`)).body as { id: string }[];
      const res = await api.call('POST', `/api/v1/dead-letters/${dead.id}/replay`);
      expect(res.body).toMatchObject({ status: 409, field: 'id', detail: expect.stringContaining(detail) });
      expect((await api.call('GET', `/api/v1/dead-letters?group=${group}`)).body).toHaveLength(1); // nothing changed
    }
    expect((await api.call('POST', '/api/v1/dead-letters/999999/replay')).status).toBe(404);
  });
});
