import { Client } from 'pg';
import { SourceCapture } from '@tributary/capture';
import { CaptureHarness, platformConfig, sourceConfig } from './support/capture-harness';
import { TestCluster, waitFor } from './support/pg-cluster';

/** The source database crashes mid-stream: capture reconnects and ends with every change exactly once. */
describe('capture across a source restart', () => {
  let source: TestCluster;
  let platform: TestCluster;
  let harness: CaptureHarness;
  let platformUrl: string;

  beforeAll(async () => {
    [source, platform] = await Promise.all([TestCluster.start(15), TestCluster.start(18)]);
    await source.query('postgres', 'CREATE TABLE kt (id int PRIMARY KEY, v int NOT NULL)');
    platformUrl = await platform.createDatabase('platform');
    harness = await CaptureHarness.start(
      platformConfig(platformUrl, [sourceConfig('src', source.url(), ['public.kt'], { heartbeatIntervalMs: 200 })]),
    );
  });

  afterAll(async () => {
    await harness?.stop();
    await Promise.all([source?.stop(), platform?.stop()]);
  });

  async function write(from: number, to: number): Promise<void> {
    const c = new Client({ connectionString: source.url() });
    await c.connect();
    for (let id = from; id < to; id += 10) {
      const ids = Array.from({ length: 10 }, (_, i) => id + i);
      await c.query('BEGIN');
      await c.query('INSERT INTO kt SELECT unnest($1::int[]), 1', [ids]);
      await c.query('UPDATE kt SET v = 2 WHERE id = ANY($1)', [ids.filter((x) => x % 2 === 0)]);
      await c.query('COMMIT');
    }
    await c.end();
  }

  it('loses nothing and duplicates nothing', async () => {
    const capture = harness.captures[0];
    const reconnected = (n: number) =>
      waitFor(() => capture.status().restarts >= n && capture.status().state === 'streaming', `reconnect ${n}`, 60_000);
    await write(0, 1000);
    await source.pg.restart('immediate');
    await reconnected(1);
    await write(1000, 2000);
    await source.pg.restart('fast');
    await reconnected(2);
    await write(2000, 3000);

    const expected = 3000 + 1500;
    await waitFor(async () => (await harness.count('src.public.kt')) >= expected, `${expected} messages`, 90_000);
    // Let any redelivered transaction arrive before counting for duplicates.
    const marker = await source.query<{ lsn: string }>('postgres', 'SELECT pg_current_wal_lsn()::text AS lsn');
    await waitFor(async () => {
      const [slot] = await source.query<{ ok: boolean }>(
        'postgres',
        `SELECT confirmed_flush_lsn >= $1::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = 'tributary_src'`,
        [marker[0].lsn],
      );
      return slot?.ok;
    }, 'the slot to confirm past the last write');

    const messages = await harness.messages('src.public.kt');
    const seen = messages.map((m) => `${m.envelope.op}:${String(m.envelope.key?.id)}:${String(m.envelope.after?.v)}`);
    expect(seen.length).toBe(expected);
    expect(new Set(seen).size).toBe(expected);
    expect(harness.captures[0].status().restarts).toBeGreaterThanOrEqual(2);
  });

  it('stops while it prepares a source: no session starts after the stop', async () => {
    await source.createDatabase('prep');
    await source.query('prep', 'CREATE TABLE locked (id int PRIMARY KEY)');
    // CREATE PUBLICATION waits for this lock: the capture is preparing when it is told to stop.
    const holder = new Client({ connectionString: source.url('prep') });
    await holder.connect();
    await holder.query('BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE');
    const config = platformConfig(platformUrl, [sourceConfig('prep', source.url('prep'), ['public.locked'])]);
    const capture = new SourceCapture(config.sources[0], config, harness.db);
    let stopped: Promise<true>;
    try {
      capture.start();
      await waitFor(async () => {
        const waiting = await source.query(
          'prep',
          `SELECT 1 FROM pg_stat_activity WHERE application_name = 'tributary-setup:prep' AND wait_event_type = 'Lock'`,
        );
        return waiting.length > 0 && capture.status().state === 'preparing';
      }, 'the preparation to wait for the lock');
      stopped = capture.stop().then(() => true as const);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    // The preparation ends once the lock is gone; then the capture stops instead of streaming.
    await waitFor(() => stopped, 'the capture to stop after its preparation', 30_000);
    expect(capture.status().state).toBe('stopped');
    const slots = await source.query<{ active: boolean }>(
      'prep',
      `SELECT active FROM pg_replication_slots WHERE slot_name = 'tributary_prep'`,
    );
    expect(slots.map((s) => s.active)).not.toContain(true);
  });
});
