import type { INestApplication } from '@nestjs/common';
import { createApp } from '@tributary/runtime';
import { callApi } from './support/api';
import { platformConfig } from './support/capture-harness';
import { TestCluster, waitFor } from './support/pg-cluster';
import { TestPlatform } from './support/platform';
import { WebhookReceiver } from './support/webhook-receiver';

const G = '/api/v1/groups';
const TOPIC = 'xf.pipeline';

/**
 * A group's pipeline through the admin API and a worker in the same process: functions are compiled
 * when the group is saved (a 400 naming `transform`), a hash key is write-only, a route is the webhook's
 * URL path, and a filter changed with PATCH applies from the next message on.
 */
describe('filter, transforms and route through the API', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let app: INestApplication;
  let base: string;
  let receiver: WebhookReceiver;
  const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    callApi(base, method, path, body, { headers });

  beforeAll(async () => {
    cluster = await TestCluster.start(15);
    platform = await TestPlatform.create(cluster, 'platform');
    await platform.createTopic(TOPIC, 1);
    receiver = await WebhookReceiver.start();
    app = (await createApp({ ...platformConfig(platform.url, []), logLevel: 'error' }, ['api', 'worker'])) as INestApplication;
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    await receiver?.close();
    await platform?.close();
    await cluster?.stop();
  });

  it('refuses a transform or route function that does not compile, naming the field, and changes nothing', async () => {
    const bad = await call('POST', G, {
      name: 'xf-bad',
      topics: [TOPIC],
      sink: { type: 'log' },
      transform: 'export default (m) => {',
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ field: 'transform', detail: expect.stringMatching(/does not compile: line 1/) });
    const noFunction = await call('POST', G, {
      name: 'xf-bad',
      topics: [TOPIC],
      sink: { type: 'log' },
      transform: 'const x = 1;',
    });
    expect(noFunction.body).toMatchObject({ status: 400, field: 'transform' });
    const badRoute = await call('POST', G, {
      name: 'xf-bad',
      topics: [TOPIC],
      sink: { type: 'log' },
      route: { function: 'export default (m => 1' },
    });
    expect(badRoute.body).toMatchObject({ status: 400, field: 'route.function' });
    const pull = await call('POST', G, { name: 'xf-bad', topics: [TOPIC], filter: { operations: ['c'] } });
    expect(pull.body).toMatchObject({ status: 400, field: 'filter' });
    expect((await call('GET', `${G}/xf-bad`)).status).toBe(404);
  });

  it('routes to URL paths, hashes with a write-only key, and a PATCHed filter applies from the next message on', async () => {
    const key = 'hmac-key-'.repeat(4);
    const created = await call('POST', G, {
      name: 'xf-hook',
      topics: [TOPIC],
      sink: { type: 'webhook', url: receiver.url, allowPrivateNetworks: true },
      filter: { where: [{ path: 'after.k', equals: 1 }] },
      transforms: [{ type: 'hash', columns: ['seq'], key }],
      route: 'k{after.k}',
    });
    expect(created.status).toBe(201);
    expect(created.body.transforms).toEqual([{ type: 'hash', columns: ['seq'], key: '***' }]);
    expect(created.text).not.toContain(key);
    await platform.produce(TOPIC, 1, 6, 3); // k = 0 1 2 0 1 2
    await waitFor(() => receiver.received.length >= 2, 'the two messages with k = 1', 60_000);
    await waitFor(async () => (await call('GET', `${G}/xf-hook`)).body.lag === '0', 'the group to commit them', 60_000);
    expect(receiver.received.map((r) => r.path)).toEqual(['/hook/k1', '/hook/k1']);
    const bodies = receiver.received.map((r) => JSON.parse(r.body) as { after: { k: number; seq: string } });
    expect(bodies.map((b) => b.after.k)).toEqual([1, 1]);
    for (const b of bodies) expect(b.after.seq).toMatch(/^[0-9a-f]{64}$/);

    const shown = await call('GET', `${G}/xf-hook`);
    const patched = await call(
      'PATCH',
      `${G}/xf-hook`,
      { filter: { where: [{ path: 'after.k', in: [2] }] }, transforms: shown.body.transforms },
      {
        'if-match': shown.headers.get('etag') ?? '',
      },
    );
    expect(patched.status).toBe(200);
    // The workers follow the catalog within a second or two: from then on, only members of the new version run.
    const before = new Set((shown.body.members as { memberId: string }[]).map((m) => m.memberId));
    await waitFor(
      async () => {
        const members = (await call('GET', `${G}/xf-hook`)).body.members as { memberId: string }[];
        return members.length > 0 && members.every((m) => !before.has(m.memberId));
      },
      'the members to restart with the new filter',
      60_000,
    );
    await platform.produce(TOPIC, 1, 6, 3, 6); // k = 0 1 2 0 1 2 again, seq 6..11
    await waitFor(() => receiver.received.length >= 4, 'the two messages with k = 2', 60_000);
    await waitFor(async () => (await call('GET', `${G}/xf-hook`)).body.lag === '0', 'the group to commit them', 60_000);
    expect(receiver.received.map((r) => r.path)).toEqual(['/hook/k1', '/hook/k1', '/hook/k2', '/hook/k2']);
    // The masked key sent back kept the stored one: equal values hash as before.
    const [again] = await Promise.all([call('GET', `${G}/xf-hook`)]);
    expect(again.body.transforms[0].key).toBe('***');
  });
});
