import { parseLsn } from '@tributary/pg-source';
import { partitionForKey } from '@tributary/topic-log';
import { CaptureHarness, platformConfig, sourceConfig } from './support/capture-harness';
import { TestCluster, waitFor } from './support/pg-cluster';
import { TestPlatform } from './support/platform';

const PARTITIONS = 4;

/**
 * The primary key changes while capture lags: the changes written before the change must be keyed and
 * partitioned by the old key, those after by the new one (the relation message of each says which),
 * not all by the table's key at the time capture reads them.
 */
describe('a primary key changed in the middle of a backlog', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let harness: CaptureHarness | undefined;

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    platform = await TestPlatform.create(cluster, 'platform');
    await cluster.createDatabase('src');
    await cluster.query('src', 'CREATE TABLE t (id int PRIMARY KEY, code text NOT NULL, ver int NOT NULL)');
  }, 120_000);

  afterAll(async () => {
    await harness?.stop();
    await platform?.close();
    await cluster?.stop();
  });

  it('keys and partitions each change by the key it was written under', async () => {
    const config = platformConfig(platform.url, [sourceConfig('src', cluster.url('src'), ['public.t'])], PARTITIONS);
    harness = await CaptureHarness.start(config);
    await harness.stop(); // capture down: what follows is a backlog
    harness = undefined;

    const q = (sql: string) => cluster.query('src', sql);
    await q(`INSERT INTO t SELECT g, 'k' || g, 1 FROM generate_series(1, 40) g`);
    await q('UPDATE t SET ver = 2 WHERE id <= 20');
    await q('ALTER TABLE t DROP CONSTRAINT t_pkey, ADD PRIMARY KEY (code)');
    const [{ lsn }] = await cluster.query<{ lsn: string }>('src', 'SELECT pg_current_wal_lsn()::text AS lsn');
    await q('UPDATE t SET ver = 3 WHERE id <= 30');
    await q(`INSERT INTO t SELECT g, 'k' || g, 1 FROM generate_series(41, 50) g`);
    await q('DELETE FROM t WHERE id IN (1, 2)');
    const total = 40 + 20 + 30 + 10 + 2;

    harness = await CaptureHarness.start(config);
    const h = harness;
    await waitFor(async () => (await h.count('src.public.t')) === total, `${total} messages`);
    const messages = await h.messages('src.public.t');
    const altered = parseLsn(lsn);
    const wrong = messages.filter((m) => {
      const row = (m.envelope.after ?? m.envelope.before) as { id: number; code: string };
      const key = parseLsn(m.envelope.source.lsn) < altered ? `{"id":${row.id}}` : `{"code":"${row.code}"}`;
      return m.key !== key || m.partition !== partitionForKey(key, PARTITIONS);
    });
    expect(wrong.map((m) => ({ key: m.key, partition: m.partition, op: m.envelope.op, lsn: m.envelope.source.lsn }))).toEqual([]);
    expect(messages.filter((m) => m.key?.startsWith('{"code"')).length).toBe(30 + 10 + 2);
  }, 180_000);
});
