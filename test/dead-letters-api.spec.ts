import { GroupRepository } from '@tributary/consumer-groups';
import { TestApi } from './support/api';
import { TestCluster } from './support/pg-cluster';
import { TestPlatform } from './support/platform';

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
});
