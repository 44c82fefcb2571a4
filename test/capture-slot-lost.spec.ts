import type { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { ApiClient, runCli } from '@tributary/cli';
import { GroupRepository } from '@tributary/consumer-groups';
import { createApp } from '@tributary/runtime';
import { createAuditedItems, versionsAppliedTwice } from './support/applied-versions';
import { callApi } from './support/api';
import { platformConfig } from './support/capture-harness';
import { TestCluster, testedVersions, waitFor } from './support/pg-cluster';
import { TestPlatform } from './support/platform';
import { sinksCaughtUp } from './support/sink-groups';

/**
 * A slot invalidated by max_slot_wal_keep_size while capture was down: the source goes to `slot_lost`
 * with a message naming the cause and the fix, /ready and /metrics say so, and a resync (the CLI's,
 * through the API) brings every sink back to equal the source, rows deleted during the gap included.
 * A trigger on the target records each row version the sink writes: the changes after the resync are
 * applied once (the snapshot's `r` rows legitimately repeat versions written before or during it).
 */
describe('a lost slot and its resync', () => {
  let sourceCluster: TestCluster;
  let cluster: TestCluster;
  let platform: TestPlatform;
  let app: INestApplication | undefined;
  let base: string;
  let source: Client;
  const version = testedVersions().includes(15) ? 15 : 18;

  const call = (method: string, path: string, body?: unknown) => callApi(base, method, path, body);
  async function startApp(): Promise<void> {
    const config = { ...platformConfig(platform.url, []), logLevel: 'error' as const, metricsSourceIntervalMs: 200 };
    app = (await createApp(config, ['api', 'capture', 'worker'])) as INestApplication;
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  }
  const capture = async () => (await call('GET', '/api/v1/sources/src')).body?.capture;
  const rows = (c: TestCluster, db: string) => c.query(db, 'SELECT id, version::text, note FROM items ORDER BY id');
  const write = async (from: number, count: number) => {
    const v = `nextval('change_version')`;
    await source.query(`INSERT INTO items SELECT g, ${v}, 'n' || g FROM generate_series($1::int, $2::int) g`, [
      from,
      from + count - 1,
    ]);
    await source.query(`UPDATE items SET version = ${v}, note = note || 'u' WHERE id % 5 = 0 AND id >= $1`, [from]);
  };

  beforeAll(async () => {
    [sourceCluster, cluster] = await Promise.all([
      TestCluster.start(version, { max_slot_wal_keep_size: '1MB' }),
      TestCluster.start(18),
    ]);
    platform = await TestPlatform.create(cluster, 'platform');
    await sourceCluster.createDatabase('src');
    await cluster.createDatabase('target');
    await sourceCluster.query('src', 'CREATE SEQUENCE change_version');
    await sourceCluster.query('src', 'CREATE TABLE items (id int PRIMARY KEY, version bigint NOT NULL, note text)');
    await sourceCluster.query('src', 'CREATE TABLE filler (id bigserial PRIMARY KEY, pad text)');
    await createAuditedItems(cluster, 'target');
    source = new Client({ connectionString: sourceCluster.url('src') });
    await source.connect();
    await startApp();
  }, 120_000);

  afterAll(async () => {
    await source?.end();
    await app?.close();
    await platform?.close();
    await Promise.all([sourceCluster?.stop(), cluster?.stop()]);
  });

  it('shows slot_lost with cause and fix, and a resync makes the target equal to the source again', async () => {
    const created = await call('POST', '/api/v1/sources', {
      name: 'src',
      url: sourceCluster.url('src'),
      tables: ['public.items'],
      heartbeatIntervalMs: 500,
    });
    expect(created.status).toBe(201);
    await waitFor(async () => (await capture())?.state === 'streaming', 'capture to stream');
    const group = await call('POST', '/api/v1/groups', {
      name: 'to-pg',
      topics: ['src.public.items'],
      sessionTimeoutMs: 2_000,
      batchSize: 100,
      sink: { type: 'postgres', url: cluster.url('target'), autoCreate: false },
    });
    expect(group.status).toBe(201);
    await write(1, 300);
    const repo = new GroupRepository(platform.pool);
    await sinksCaughtUp(sourceCluster, 'src', 'tributary_src', repo, ['to-pg']);

    // Capture down; changes (deletes among them) the slot will lose; then WAL past max_slot_wal_keep_size.
    await app?.close();
    app = undefined;
    await write(301, 100);
    await source.query('DELETE FROM items WHERE id <= 50 OR id % 7 = 0');
    await waitFor(async () => {
      await source.query(`INSERT INTO filler (pad) SELECT repeat('x', 1000) FROM generate_series(1, 200)`);
      await source.query('SELECT pg_switch_wal()');
      await source.query('CHECKPOINT');
      const [slot] = await sourceCluster.query<{ wal_status: string }>(
        'src',
        `SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'tributary_src'`,
      );
      return slot?.wal_status === 'lost';
    }, 'the server to invalidate the slot');

    await startApp();
    await waitFor(async () => (await capture())?.state === 'slot_lost', 'the source to be in slot_lost');
    const lost = await capture();
    expect(lost.lastError).toMatch(/replication slot "tributary_src" was invalidated by the server \(wal_status lost/);
    expect(lost.lastError).toMatch(/max_slot_wal_keep_size \(1MB\)/);
    expect(lost.lastError).toMatch(/POST \/api\/v1\/sources\/src\/resync, or tributary sources resync src/);
    const ready = await call('GET', '/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.checks['capture:src']).toBe('slot_lost');
    const status = (await call('GET', '/api/v1/sources/src')).body;
    expect(status).toMatchObject({ walStatus: 'lost', slotAtRisk: true });
    await waitFor(
      async () => (await call('GET', '/metrics')).text.includes('tributary_source_slot_at_risk{source="src"} 1'),
      'the at-risk gauge',
    );

    // Bad input is refused with the field, and changes nothing.
    const bad = await call('POST', '/api/v1/sources/src/resync', { waitMs: 'soon' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(bad.body.field).toBe('waitMs');
    const unknown = await call('POST', '/api/v1/sources/nope/resync', {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.field).toBe('name');
    expect((await capture())?.state).toBe('slot_lost');

    const lines: string[] = [];
    expect(await runCli(['sources', 'resync', 'src'], (t) => lines.push(t), new ApiClient(base))).toBe(0);
    expect(lines.join('\n')).toMatch(/1 table\(s\) reset in their topics and snapshotted again: public.items/);

    await waitFor(async () => (await capture())?.state === 'streaming', 'capture to stream from the new slot');
    // Changes while the re-snapshot runs: a chunk may read a row the stream already delivered and send it
    // again as an `r` row with the same version (an idempotent upsert), so these only count for convergence.
    await write(1_000, 50);
    await source.query('DELETE FROM items WHERE id = 1010');
    await waitFor(
      async () =>
        (
          await platform.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM tributary.backfills WHERE status <> 'done' AND status <> 'cancelled'`,
          )
        ).rows[0].n === 0,
      'the resync snapshot',
    );
    // Changes after it: each must be applied exactly once.
    const [{ v: settled }] = await sourceCluster.query<{ v: string }>('src', `SELECT last_value::text AS v FROM change_version`);
    await write(2_000, 50);
    await source.query('DELETE FROM items WHERE id = 2010');
    await sinksCaughtUp(sourceCluster, 'src', 'tributary_src', repo, ['to-pg']);
    const expected = await rows(sourceCluster, 'src');
    expect(expected.some((r) => Number(r.id) <= 50)).toBe(false);
    expect(await rows(cluster, 'target')).toEqual(expected);
    const twice = await versionsAppliedTwice(cluster, 'target', settled);
    expect(twice).toEqual([]);
  }, 300_000);
});
