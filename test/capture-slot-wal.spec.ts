import { Client } from 'pg';
import { canLogStandbySnapshots } from '@tributary/capture';
import { CaptureHarness, platformConfig, sourceConfig } from './support/capture-harness';
import { TestCluster, waitFor } from './support/pg-cluster';

/**
 * The slot releases WAL: restart_lsn moves only at running-transactions records, which Postgres writes
 * every 15 s on its own; on 16+ capture logs one a second (pg_log_standby_snapshot), so a slot whose
 * changes are all acknowledged keeps about a second of the cluster's WAL, not 15-30 s of it.
 */
describe('the slot releases WAL', () => {
  let cluster: TestCluster;
  let harness: CaptureHarness;

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    await cluster.query('postgres', 'CREATE TABLE sw (id int PRIMARY KEY, v int NOT NULL)');
    await cluster.query('postgres', 'CREATE EXTENSION pg_walinspect');
    await cluster.query('postgres', `CREATE ROLE plain LOGIN REPLICATION PASSWORD 'plain'`);
    const platformUrl = await cluster.createDatabase('platform'); // on the same cluster: its WAL counts too
    harness = await CaptureHarness.start(platformConfig(platformUrl, [sourceConfig('sw', cluster.url(), ['public.sw'])]));
  });

  afterAll(async () => {
    await harness?.stop();
    await cluster?.stop();
  });

  it('logs standby snapshots where allowed, and restart_lsn follows the acknowledged position', async () => {
    const c = new Client({ connectionString: cluster.url() });
    await c.connect();
    const plainUrl = new URL(cluster.url());
    plainUrl.username = 'plain';
    plainUrl.password = 'plain';
    const plain = new Client({ connectionString: plainUrl.toString() });
    await plain.connect();
    try {
      expect(await canLogStandbySnapshots(c)).toBe(true); // a superuser on 18
      expect(await canLogStandbySnapshots(plain)).toBe(false); // EXECUTE is not granted to others by default

      // Captured writes go on (so capture keeps acknowledging) while the platform database adds WAL.
      const marker = (await c.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
      let id = 0;
      const moved = await waitFor(async () => {
        await c.query('INSERT INTO sw SELECT g, 1 FROM generate_series($1::int, $1::int + 99) g', [id]);
        id += 100;
        const { rows } = await c.query<{ ok: boolean; snapshots: number }>(
          `SELECT s.restart_lsn >= $1::pg_lsn AS ok,
                  (SELECT count(*)::int FROM pg_get_wal_records_info($1::pg_lsn, pg_current_wal_lsn())
                    WHERE resource_manager = 'Standby' AND record_type = 'RUNNING_XACTS') AS snapshots
             FROM pg_replication_slots s WHERE s.slot_name = 'tributary_sw'`,
          [marker],
        );
        return rows[0]?.ok && rows[0];
      }, 'restart_lsn to pass the marker');
      expect(moved.snapshots).toBeGreaterThan(0);
      await waitFor(async () => (await harness.count('sw.public.sw')) >= id, 'every row captured');
    } finally {
      await plain.end();
      await c.end();
    }
  });
});
