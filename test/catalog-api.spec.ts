import type { INestApplication } from '@nestjs/common';
import { createApp } from '@tributary/runtime';
import { callApi } from './support/api';
import { platformConfig } from './support/capture-harness';
import { TestCluster, waitFor } from './support/pg-cluster';
import { TestPlatform } from './support/platform';
import { WebhookReceiver } from './support/webhook-receiver';
import { sleep } from '@tributary/timing';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of many shapes, checked by each test
type Answer = { status: number; body: any; etag: string | null };

/**
 * Sources, groups and their sinks managed through the REST API while the platform runs (all roles in
 * one process on Postgres 15): what is created starts within seconds, changes restart what they touch,
 * deletes stop it, stale writes get 409, and secrets never come back.
 */
describe('sources, groups and sinks through the API', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let app: INestApplication;
  let base: string;
  let sourceUrl: string;
  let targetUrl: string;
  let receiver: WebhookReceiver;
  const seen: string[] = []; // every response body, to check no secret ever leaves

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await callApi(base, method, `/api/v1${path}`, body, { headers });
    seen.push(res.text);
    return { status: res.status, body: res.body, etag: res.headers.get('etag') };
  }

  const withPassword = (url: string, password: string) => url.replace('postgres://postgres@', `postgres://postgres:${password}@`);

  beforeAll(async () => {
    cluster = await TestCluster.start(15);
    platform = await TestPlatform.create(cluster, 'platform');
    sourceUrl = await cluster.createDatabase('shop');
    targetUrl = await cluster.createDatabase('mirror');
    await cluster.query('shop', 'CREATE TABLE orders (id int PRIMARY KEY, total numeric NOT NULL)');
    await cluster.query('shop', 'CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL)');
    await cluster.query('shop', `INSERT INTO customers SELECT i, 'c' || i FROM generate_series(1, 5) i`);
    receiver = await WebhookReceiver.start();
    const config = { ...platformConfig(platform.url, []), logLevel: 'error' as const, localDefaults: true };
    app = (await createApp(config, ['api', 'capture', 'worker'])) as INestApplication;
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    await receiver?.close();
    await platform?.close();
    await cluster?.stop();
  });

  it('refuses a source it could not capture, and creates nothing', async () => {
    const cases: [unknown, number, string][] = [
      [{ name: 'bad', url: 'http://x', tables: ['public.orders'] }, 400, 'url'],
      [{ name: 'Bad', url: sourceUrl, tables: ['public.orders'] }, 400, 'name'],
      [{ name: 'bad', url: sourceUrl, tables: ['orders'] }, 400, 'tables.0'],
      [{ name: 'bad', url: sourceUrl, tables: ['public.orders'], colour: 'red' }, 400, '(body)'],
      [{ name: 'bad', url: sourceUrl, tables: ['public.nope'] }, 422, 'tables'],
      [{ name: 'bad', url: 'postgres://postgres@127.0.0.1:1/shop', tables: ['public.orders'] }, 422, 'url'],
    ];
    for (const [body, status, field] of cases) {
      const res = await call('POST', '/sources', body);
      expect({ body, status: res.status, field: res.body.field }).toEqual({ body, status, field });
    }
    expect((await call('GET', '/sources')).body).toEqual([]);
  });

  it('captures a source created through the API, into a Postgres sink created through the API', async () => {
    const created = await call('POST', '/sources', {
      name: 'shop',
      url: withPassword(sourceUrl, 'hunter2'),
      tables: ['public.orders'],
    });
    expect(created.status).toBe(201);
    expect(created.etag).toBe('"v1"');
    expect(created.body).toMatchObject({ name: 'shop', managedBy: 'api', version: 1, url: expect.stringContaining(':***@') });
    await waitFor(async () => (await call('GET', '/sources/shop')).body.slotActive === true, 'capture of shop to stream');

    const group = await call('POST', '/groups', {
      name: 'mirror',
      topics: ['shop.public.*'],
      sink: { type: 'postgres', url: withPassword(targetUrl, 's3cret') },
    });
    expect(group.status).toBe(201);
    expect(group.body.sink).toMatchObject({ type: 'postgres', url: expect.stringContaining(':***@') });
    await cluster.query('shop', 'INSERT INTO orders SELECT i, i * 1.5 FROM generate_series(1, 50) i');
    await waitFor(async () => {
      const rows = await cluster.query('mirror', 'SELECT count(*)::int AS n FROM orders').catch(() => [{ n: 0 }]);
      return rows[0].n === 50;
    }, 'the worker to mirror 50 orders');
    expect((await call('GET', '/sinks')).body).toEqual([expect.objectContaining({ group: 'mirror', type: 'postgres' })]);
  });

  it('adds and removes captured tables; an added table is snapshotted, then streamed', async () => {
    const before = await call('GET', '/sources/shop');
    const added = await call('POST', '/sources/shop/tables', { table: 'public.customers' }, { 'if-match': before.etag ?? '' });
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ version: 2, tables: ['public.orders', 'public.customers'] });
    expect((await call('POST', '/sources/shop/tables', { table: 'public.customers' })).status).toBe(409);
    await cluster.query('shop', `INSERT INTO customers VALUES (6, 'c6')`);
    await waitFor(async () => {
      const rows = await cluster.query('mirror', 'SELECT count(*)::int AS n FROM customers').catch(() => [{ n: 0 }]);
      return rows[0].n === 6;
    }, 'the 5 existing customers (snapshot) and the new one (stream) in the mirror');

    const removed = await call('DELETE', '/sources/shop/tables/public.customers');
    expect(removed.body).toMatchObject({ version: 3, tables: ['public.orders'] });
    expect((await call('DELETE', '/sources/shop/tables/public.orders')).status).toBe(409); // the last table
    expect((await call('DELETE', '/sources/shop/tables/public.nope')).status).toBe(404);
  });

  it('updates with If-Match: one of two concurrent writers wins, the other gets 409', async () => {
    const { etag, body } = await call('GET', '/groups/mirror');
    expect(etag).toBe(`"v${body.version}"`);
    const [a, b] = await Promise.all([
      call('PATCH', '/groups/mirror', { batchSize: 100 }, { 'if-match': etag ?? '' }),
      call('PATCH', '/groups/mirror', { batchSize: 200 }, { 'if-match': etag ?? '' }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const winner = a.status === 200 ? 100 : 200;
    const after = await call('GET', '/groups/mirror');
    expect(after.body).toMatchObject({ batchSize: winner, version: body.version + 1 });
    // The stored password survived the PATCH: the restarted members still write to the mirror.
    await cluster.query('shop', 'INSERT INTO orders VALUES (51, 1)');
    await waitFor(async () => (await cluster.query('mirror', 'SELECT count(*)::int AS n FROM orders'))[0].n === 51, 'order 51');
    expect((await call('PATCH', '/groups/mirror', { batchSize: 0 })).body).toMatchObject({ field: 'batchSize' });
    expect((await call('PATCH', '/groups/mirror', { name: 'other' })).status).toBe(422);
    expect((await call('PUT', '/groups/mirror', { topics: ['x'] }, { 'if-match': 'nonsense' })).status).toBe(400);
    expect((await call('GET', '/groups/mirror')).body.version).toBe(body.version + 1); // nothing else changed
  });

  it('creates a webhook subscription with a secret shown once, and rotates it (both signatures meanwhile)', async () => {
    const created = await call('POST', '/groups', {
      name: 'hooks',
      topics: ['shop.public.orders'],
      sink: { type: 'webhook', url: receiver.url, operations: ['c'] },
    });
    expect(created.status).toBe(201);
    const secret = created.body.secret as string;
    expect(secret).toMatch(/^whsec_/);
    expect(created.body.sink).toMatchObject({ secretCount: 1 });
    expect(JSON.stringify((await call('GET', '/groups/hooks')).body)).not.toContain(secret);
    await cluster.query('shop', 'INSERT INTO orders VALUES (100, 1)');
    await waitFor(() => receiver.received.some((r) => r.body.includes('"id":100')), 'the delivery of order 100');
    const signatures = (r: { headers: Record<string, unknown> }) => String(r.headers['webhook-signature']).split(' ').length;
    expect(signatures(receiver.received.find((r) => r.body.includes('"id":100'))!)).toBe(1);

    const rotated = await call('POST', '/groups/hooks/webhook/secrets/rotate');
    expect(rotated.body).toMatchObject({ secret: expect.stringMatching(/^whsec_/), secretCount: 2 });
    expect(rotated.body.secret).not.toBe(secret);
    await waitFor(async () => {
      await cluster.query('shop', `INSERT INTO orders SELECT max(id) + 1, 2 FROM orders`);
      const last = receiver.received[receiver.received.length - 1];
      return last && signatures(last) === 2;
    }, 'deliveries signed with both secrets');
    expect((await call('DELETE', '/groups/hooks/webhook/secrets/previous')).body).toMatchObject({ secretCount: 1 });
    expect((await call('DELETE', '/groups/hooks/webhook/secrets/previous')).status).toBe(409);
  });

  it('keeps write-only values write-only: masked headers and passwords are kept, never sent to a new place', async () => {
    const created = await call('POST', '/groups', {
      name: 'hooks2',
      topics: ['shop.public.orders'],
      sink: {
        type: 'webhook',
        url: `${receiver.url}?token=tok3n`,
        operations: ['c'],
        headers: { authorization: 'Bearer b3arer' },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.sink).toMatchObject({ headers: { authorization: '***' }, url: expect.stringContaining('token=***') });
    // Sending back what GET shows changes nothing secret; the endpoint still gets the real header.
    const shown = (await call('GET', '/groups/hooks2')).body;
    const put = await call('PUT', '/groups/hooks2', { ...shown, batchSize: 7 }); // read-only fields are ignored
    expect(put.status).toBe(200);
    const { rows } = await platform.pool.query(`SELECT runtime FROM tributary.consumer_groups WHERE name = 'hooks2'`);
    expect(rows[0].runtime.sink).toMatchObject({
      headers: { authorization: 'Bearer b3arer' },
      url: expect.stringContaining('tok3n'),
    });
    await cluster.query('shop', 'INSERT INTO orders VALUES (500, 5)');
    await waitFor(() => receiver.received.find((r) => r.body.includes('"id":500') && r.path.includes('tok3n')), 'order 500');
    expect(receiver.received.find((r) => r.body.includes('"id":500') && r.path.includes('tok3n'))?.headers.authorization).toBe(
      'Bearer b3arer',
    );
    // A masked credential with another host would send the stored one elsewhere: refused.
    const elsewhere = await call('PATCH', '/groups/hooks2', { sink: { ...shown.sink, url: 'http://127.0.0.2:9/x?token=***' } });
    expect(elsewhere).toMatchObject({ status: 422, body: { field: 'sink.url' } });
    // A masked header follows no new URL either: the stored bearer token would go to the new host.
    const headerElsewhere = await call('PATCH', '/groups/hooks2', {
      sink: { ...shown.sink, url: 'https://attacker.example/h' },
    });
    expect(headerElsewhere).toMatchObject({ status: 422, body: { field: 'sink.headers.authorization' } });
    const mirror = (await call('GET', '/groups/mirror')).body;
    const moved = await call('PATCH', '/groups/mirror', {
      sink: { ...mirror.sink, url: mirror.sink.url.replace('127.0.0.1', 'localhost') },
    });
    expect(moved).toMatchObject({ status: 422, body: { field: 'sink.url' } });
    // Drivers honour host= (and the like) in the query: a masked password with a new parameter stays put.
    const redirected = await call('PATCH', '/groups/mirror', {
      sink: { ...mirror.sink, url: `${mirror.sink.url}?host=198.51.100.7` },
    });
    expect(redirected).toMatchObject({ status: 422, body: { field: 'sink.url' } });
    expect((await call('DELETE', '/groups/hooks2')).status).toBe(204);
  });

  it("refuses to repoint a source or share another source's slot; a new password is fine", async () => {
    const shop = (await call('GET', '/sources/shop')).body;
    const other = await call('PATCH', '/sources/shop', { url: targetUrl });
    expect(other).toMatchObject({ status: 422, body: { field: 'url' } });
    expect((await call('PATCH', '/sources/shop', { slot: 'another_slot' })).body).toMatchObject({ status: 422, field: 'slot' });
    // The masked password with a host= query parameter (which libpq-style drivers honour) stays put.
    expect(shop.url).toContain(':***@');
    const redirected = await call('PATCH', '/sources/shop', { url: `${shop.url}?host=198.51.100.7` });
    expect(redirected).toMatchObject({ status: 422, body: { field: 'url' } });
    const rotated = await call('PATCH', '/sources/shop', { url: withPassword(sourceUrl, 'n3w-pass') });
    expect(rotated.status).toBe(200);
    const twin = await call('POST', '/sources', { name: 'twin', url: sourceUrl, tables: ['public.orders'], slot: shop.slot });
    expect(twin).toMatchObject({ status: 409, body: { field: 'slot' } });
    expect((await call('GET', '/sources/twin')).status).toBe(404);
  });

  it('keeps pull consumers off groups that workers run, and follows a delete and re-create within one poll', async () => {
    const join = await call('POST', '/groups/mirror/members', {});
    expect(join).toMatchObject({ status: 409, body: { field: 'group' } });
    const first = await WebhookReceiver.start();
    const second = await WebhookReceiver.start();
    try {
      const sink = (url: string) => ({
        type: 'webhook',
        url,
        operations: ['c'],
        secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      });
      await call('POST', '/groups', { name: 'flip', topics: ['shop.public.orders'], sink: sink(first.url) });
      await cluster.query('shop', 'INSERT INTO orders VALUES (600, 6)');
      await waitFor(() => first.received.some((r) => r.body.includes('"id":600')), 'order 600 at the first endpoint');
      expect((await call('DELETE', '/groups/flip')).status).toBe(204);
      await call('POST', '/groups', {
        name: 'flip',
        topics: ['shop.public.orders'],
        sink: sink(second.url),
      });
      await cluster.query('shop', 'INSERT INTO orders VALUES (601, 6)');
      await waitFor(() => second.received.some((r) => r.body.includes('"id":601')), 'order 601 at the second endpoint').catch(
        async (e: Error) => {
          const g = (await call('GET', '/groups/flip')).body;
          throw new Error(
            `${e.message}: second got ${second.received.length}, first ${first.received.length}; ${JSON.stringify(g.partitions)}`,
          );
        },
      );
      // The old members may have sent 601 before they noticed (at least once); their commit was refused, so
      // the new members deliver it too.
      expect((await call('DELETE', '/groups/flip')).status).toBe(204);
      await sleep(2_500); // members still running would recreate state now
      for (const table of ['group_members', 'partition_leases', 'group_offsets']) {
        const { rowCount } = await platform.pool.query(`SELECT 1 FROM tributary.${table} WHERE group_name = 'flip'`);
        expect({ table, rowCount }).toEqual({ table, rowCount: 0 });
      }
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('restarts members on every new version, even one that leaves the running settings as they were', async () => {
    const url = `${receiver.url}?g=same`; // other groups deliver to this receiver too
    const sink = { type: 'webhook', url, operations: ['c'], secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' };
    const mine = (id: number) => receiver.received.some((r) => r.path.includes('g=same') && r.body.includes(`"id":${id}`));
    expect((await call('POST', '/groups', { name: 'same', topics: ['shop.public.orders'], sink })).status).toBe(201);
    await cluster.query('shop', 'INSERT INTO orders VALUES (700, 7)');
    await waitFor(() => mine(700), 'order 700');
    // With the embedded-style defaults this changes the stored spec (a new version, which fences the
    // running members) but not what the members run.
    const patched = await call('PATCH', '/groups/same', { sink: { ...sink, allowPrivateNetworks: true } });
    expect(patched.status).toBe(200);
    await cluster.query('shop', 'INSERT INTO orders VALUES (701, 7)');
    await waitFor(() => mine(701), 'order 701 after the change');
    expect((await call('DELETE', '/groups/same')).status).toBe(204);
  });

  it('deletes a group with its offsets, and a source with its slot and publication when asked', async () => {
    expect((await call('DELETE', '/groups/hooks')).status).toBe(204);
    expect((await call('GET', '/groups/hooks')).status).toBe(404);
    const offsets = await platform.pool.query(`SELECT 1 FROM tributary.group_offsets WHERE group_name = 'hooks'`);
    expect(offsets.rowCount).toBe(0);

    expect((await call('DELETE', '/sources/shop?dropSlot=maybe')).status).toBe(400);
    expect((await call('DELETE', '/sources/shop?dropSlot=true')).status).toBe(204);
    expect((await call('GET', '/sources/shop')).status).toBe(404);
    expect(await cluster.query('shop', `SELECT slot_name FROM pg_replication_slots`)).toEqual([]);
    expect(await cluster.query('shop', `SELECT pubname FROM pg_publication`)).toEqual([]);
    expect((await call('DELETE', '/sources/shop')).status).toBe(404);
  });

  it('never returned a password or a webhook secret', () => {
    const all = seen.join('\n');
    expect(all).not.toContain('hunter2');
    expect(all).not.toContain('s3cret');
  });
});
