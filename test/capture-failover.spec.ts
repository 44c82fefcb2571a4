import type { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { GroupRepository } from '@tributary/consumer-groups';
import { createApp } from '@tributary/runtime';
import { createAuditedItems, versionsAppliedTwice } from './support/applied-versions';
import { callApi } from './support/api';
import { platformConfig } from './support/capture-harness';
import { TestCluster, testedVersions, waitFor } from './support/pg-cluster';
import { TestPlatform } from './support/platform';
import { sinksCaughtUp } from './support/sink-groups';

/**
 * A source on Postgres 18 with a real hot standby (a base backup without pg_basebackup), given
 * `failover: true` after its slot exists (the slot is altered), which the standby then syncs: changes before the promotion, the primary stopped, the
 * standby promoted, the source's URL moved to it through the API, changes after it. The target equals
 * the new primary, and every row version is applied once (a trigger on the target records each).
 * On Postgres 15 `failover: true` is refused with a 422 naming the field, and nothing is created.
 */
describe('failover slots', () => {
  let primary: TestCluster;
  let standby: TestCluster;
  let cluster: TestCluster;
  let platform: TestPlatform;
  let app: INestApplication | undefined;
  let base: string;

  const call = (method: string, path: string, body?: unknown) => callApi(base, method, path, body);
  const capture = async () => (await call('GET', '/api/v1/sources/src')).body?.capture;
  const rows = (c: TestCluster, db: string) => c.query(db, 'SELECT id, version::text, note FROM items ORDER BY id');
  async function write(on: TestCluster, from: number, count: number): Promise<void> {
    const client = new Client({ connectionString: on.url('src') });
    await client.connect();
    try {
      const v = `nextval('change_version')`;
      await client.query(`INSERT INTO items SELECT g, ${v}, 'n' || g FROM generate_series($1::int, $2::int) g`, [
        from,
        from + count - 1,
      ]);
      await client.query(`UPDATE items SET version = ${v}, note = note || 'u' WHERE id % 5 = 0 AND id >= $1`, [from]);
      await client.query('DELETE FROM items WHERE id % 7 = 0 AND id >= $1', [from]);
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    [primary, cluster] = await Promise.all([TestCluster.start(18), TestCluster.start(18)]);
    await primary.createDatabase('src');
    await primary.query('src', 'CREATE SEQUENCE change_version');
    await primary.query('src', 'CREATE TABLE items (id int PRIMARY KEY, version bigint NOT NULL, note text)');
    standby = await TestCluster.standbyOf(primary, 'standby1');
    // Logical changes go out only once the standby has them: a promotion then never loses what capture stored.
    await primary.query('postgres', `ALTER SYSTEM SET synchronized_standby_slots = 'standby1'`);
    await primary.query('postgres', 'SELECT pg_reload_conf()');
    platform = await TestPlatform.create(cluster, 'platform');
    await cluster.createDatabase('target');
    await createAuditedItems(cluster, 'target');
    const config = { ...platformConfig(platform.url, []), logLevel: 'error' as const };
    app = (await createApp(config, ['api', 'capture', 'worker'])) as INestApplication;
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    await platform?.close();
    await Promise.all([primary?.stop(), standby?.stop(), cluster?.stop()]);
  });

  it('goes on from the promoted standby with no gap and nothing applied twice', async () => {
    const created = await call('POST', '/api/v1/sources', {
      name: 'src',
      url: primary.url('src'),
      tables: ['public.items'],
      heartbeatIntervalMs: 500,
    });
    expect(created.status).toBe(201);
    await waitFor(async () => (await capture())?.state === 'streaming', 'capture to stream');
    const failoverOfSlot = async () =>
      (
        await primary.query<{ failover: boolean }>(
          'src',
          `SELECT failover FROM pg_replication_slots WHERE slot_name = 'tributary_src'`,
        )
      )[0]?.failover;
    expect(await failoverOfSlot()).toBe(false);
    expect((await call('GET', '/api/v1/sources/src')).body.failover).toBeUndefined();
    // Turned on later: capture restarts and alters the existing slot (ALTER_REPLICATION_SLOT).
    const turnedOn = await call('PATCH', '/api/v1/sources/src', { failover: true });
    expect(turnedOn.status).toBe(200);
    expect(turnedOn.body.failover).toBe(true);
    await waitFor(async () => (await failoverOfSlot()) === true, 'the slot to become a failover slot');
    await waitFor(async () => (await capture())?.state === 'streaming', 'capture to stream again');
    // The export (`tributary export`, GET /api/v1/config) keeps it, so `apply` takes it back unchanged.
    expect((await call('GET', '/api/v1/config')).body.sources).toMatchObject([{ name: 'src', failover: true }]);
    const status = (await call('GET', '/api/v1/sources/src')).body;
    expect(status.failover).toEqual({
      slotFailover: true,
      slotSynced: false,
      synchronizedStandbySlots: ['standby1'],
      advice: null,
    });
    const group = await call('POST', '/api/v1/groups', {
      name: 'to-pg',
      topics: ['src.public.items'],
      sessionTimeoutMs: 2_000,
      batchSize: 100,
      sink: { type: 'postgres', url: cluster.url('target'), autoCreate: false },
    });
    expect(group.status).toBe(201);
    const repo = new GroupRepository(platform.pool);
    await write(primary, 1, 300);
    await sinksCaughtUp(primary, 'src', 'tributary_src', repo, ['to-pg']);
    // A copy that is still temporary (the primary's slot not yet past where the copy starts) is dropped at
    // promotion: only a persistent one counts.
    await waitFor(async () => {
      const [copy] = await standby.query<{ ok: boolean }>(
        'src',
        `SELECT synced AND NOT temporary AND NOT coalesce(conflicting, false) AS ok
           FROM pg_replication_slots WHERE slot_name = 'tributary_src'`,
      );
      return copy?.ok === true;
    }, 'the standby to sync the failover slot');

    // The standby is no place to capture from while it is one: refused, with the field, and nothing changes.
    const early = await call('PATCH', '/api/v1/sources/src', { url: standby.url('src') });
    expect(early.status).toBe(409);
    expect(early.body.field).toBe('url');
    expect(early.body.detail).toMatch(/is a standby \(in recovery\): promote it first/);
    expect((await call('GET', '/api/v1/sources/src')).body.url).toBe(primary.url('src'));

    // Changes right before the primary goes away (capture may not have them all yet), then the failover.
    await write(primary, 1_000, 200);
    await primary.pg.stop();
    await standby.query('postgres', 'SELECT pg_promote(true, 60)');
    const moved = await call('PATCH', '/api/v1/sources/src', { url: standby.url('src') });
    expect(moved.body.detail).toBeUndefined();
    expect(moved.status).toBe(200);
    await waitFor(async () => {
      const c = await capture();
      return c?.state === 'streaming' && (await call('GET', '/api/v1/sources/src')).body.connected === true;
    }, 'capture to stream from the new primary');

    await write(standby, 2_000, 200);
    await sinksCaughtUp(standby, 'src', 'tributary_src', repo, ['to-pg']);
    expect(await rows(cluster, 'target')).toEqual(await rows(standby, 'src'));
    const ids = (await rows(standby, 'src')).map((r) => Number(r.id));
    expect(ids.some((id) => id >= 1_000 && id < 2_000)).toBe(true); // written just before the failover
    expect(ids.some((id) => id >= 2_000)).toBe(true);
    const twice = await versionsAppliedTwice(cluster, 'target');
    expect(twice).toEqual([]);
    expect((await call('GET', '/api/v1/sources/src')).body.failover.slotFailover).toBe(true);
  }, 400_000);

  it('refuses failover: true on Postgres 15 with a 422 naming the field, and creates nothing', async () => {
    if (!testedVersions().includes(15)) return; // only outside CI, where testedVersions says so
    const old = await TestCluster.start(15);
    try {
      await old.createDatabase('src');
      await old.query('src', 'CREATE TABLE items (id int PRIMARY KEY)');
      const refused = await call('POST', '/api/v1/sources', {
        name: 'old',
        url: old.url('src'),
        tables: ['public.items'],
        failover: true,
      });
      expect(refused.status).toBe(422);
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect(refused.body.field).toBe('failover');
      expect(refused.body.detail).toMatch(/failover: true needs Postgres 17 or newer/);
      expect((await call('GET', '/api/v1/sources/old')).status).toBe(404);
      expect(await old.query('src', 'SELECT slot_name FROM pg_replication_slots')).toEqual([]);
    } finally {
      await old.stop();
    }
  }, 120_000);
});
