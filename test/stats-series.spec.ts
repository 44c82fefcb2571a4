import { seriesFrame, shapeSeries, StatsRepository } from '@tributary/stats';
import { TestCluster } from './support/pg-cluster';
import { TestPlatform } from './support/platform';

const T0 = Date.UTC(2026, 11, 6, 21, 0, 0); // a multiple of every step

describe('stats series: the frame of a window', () => {
  it('has one aligned point per step, the last being the step now is in', () => {
    const frame = seriesFrame('15m', T0 + 12_345);
    expect(frame.stepSeconds).toBe(5);
    expect(frame.timestamps).toHaveLength(180);
    expect(frame.toMs).toBe(T0 + 10_000);
    expect(frame.timestamps[179]).toBe(T0 + 10_000);
    expect(frame.timestamps[1] - frame.timestamps[0]).toBe(5_000);
    expect(seriesFrame('1h', T0).timestamps).toHaveLength(240);
    expect(seriesFrame('6h', T0).stepSeconds).toBe(90);
    expect(seriesFrame('24h', T0 + 1).timestamps).toHaveLength(240);
    expect(seriesFrame('24h', T0 + 1).timestamps.every((t) => t % 360_000 === 0)).toBe(true);
  });

  it('puts each step where its timestamp is, null elsewhere, rates to two decimals', () => {
    const frame = seriesFrame('15m', T0);
    const series = shapeSeries(frame, [
      { kind: 'source', name: 's', step: T0 - 5_000, rate: 12.3456, behind: null },
      { kind: 'group', name: 'g', step: T0, rate: 1 / 3, behind: 7 },
      { kind: 'group', name: 'g', step: T0 - 3_600_000, rate: 99, behind: 99 }, // outside the window
    ]);
    expect(series.sources.s.appended.slice(-2)).toEqual([12.35, null]);
    expect(series.groups.g).toEqual({
      delivered: [...Array(179).fill(null), 0.33],
      lag: [...Array(179).fill(null), 7],
    });
    expect(series.from).toBe(new Date(frame.fromMs).toISOString());
    expect(series.to).toBe(new Date(T0 + 5_000).toISOString());
  });
});

/**
 * The rates the repository derives from stored positions, on samples written by hand: the average over
 * a step, no rate across a gap (a restart) or a changed set of partitions, nothing for a position that
 * went back, and the largest lag in a step.
 */
describe('stats series: rates from samples', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let stats: StatsRepository;
  const sample = (ms: number, kind: string, name: string, position: number, parts = 1, behind: number | null = null) =>
    platform.pool.query(
      'INSERT INTO tributary.stats_samples (at, kind, name, position, parts, behind) VALUES ($1, $2, $3, $4, $5, $6)',
      [new Date(T0 + ms), kind, name, position, parts, behind],
    );
  const rates = async (name: string) =>
    Object.fromEntries(
      (await stats.steps(T0, T0 + 120_000, 5))
        .filter((r) => r.name === name)
        .map((r) => [(r.step - T0) / 1000, { rate: r.rate, behind: r.behind }]),
    );

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    platform = await TestPlatform.create(cluster, 'platform');
    stats = new StatsRepository(platform.pool);
  });

  afterAll(async () => {
    await platform?.close();
    await cluster?.stop();
  });

  it('averages over each step and leaves gaps, new partitions and positions going back without a rate', async () => {
    await sample(-2_000, 'source', 'a', 0); // before the window: the first step's rate still has its start
    await sample(3_000, 'source', 'a', 50); // 50 in 5 s
    await sample(6_000, 'source', 'a', 80); // 30 in 3 s
    await sample(9_000, 'source', 'a', 80); // 0 in 3 s: step 5 averages 30 in 6 s
    await sample(60_000, 'source', 'a', 1_000); // 51 s later: a restart, no rate
    await sample(65_000, 'source', 'a', 1_100, 2); // a partition joined: no rate
    await sample(70_000, 'source', 'a', 1_000, 2); // went back: 0
    await sample(75_000, 'source', 'a', 1_010, 2);
    expect(await rates('a')).toEqual({
      0: { rate: 10, behind: null },
      5: { rate: 5, behind: null },
      60: { rate: null, behind: null },
      65: { rate: null, behind: null },
      70: { rate: 0, behind: null },
      75: { rate: 2, behind: null },
    });
  });

  it("reports a group's largest lag in each step", async () => {
    await sample(0, 'group', 'g', 0, 1, 40);
    await sample(2_000, 'group', 'g', 10, 1, 90);
    await sample(4_000, 'group', 'g', 30, 1, 20);
    expect(await rates('g')).toEqual({ 0: { rate: 7.5, behind: 90 } });
  });

  it('samples once per interval however many processes try, and prunes old samples', async () => {
    await platform.pool.query('DELETE FROM tributary.stats_samples');
    await platform.createTopic('st.t', 2);
    await platform.pool.query(
      `INSERT INTO tributary.source_tables (source, schema_name, table_name, topic, columns, primary_key)
       VALUES ('src', 'public', 't', 'st.t', '[]', '{id}')`,
    );
    await platform.produce('st.t', 2, 10);
    const written = await Promise.all([stats.sample(60_000), stats.sample(60_000), stats.sample(60_000)]);
    expect(written.filter((n) => n > 0)).toHaveLength(1);
    const { rows } = await platform.pool.query('SELECT kind, name, position::int, parts, behind FROM tributary.stats_samples');
    expect(rows).toContainEqual({ kind: 'source', name: 'src', position: 10, parts: 2, behind: null });
    expect(await stats.sample(60_000)).toBe(0); // a sample this interval exists
    await platform.pool.query(`UPDATE tributary.stats_samples SET at = now() - interval '25 hours'`);
    expect(await stats.prune(24 * 3_600_000)).toBe(rows.length);
  });
});
