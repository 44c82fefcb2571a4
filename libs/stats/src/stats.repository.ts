import type { Pool } from 'pg';
import { withTransaction } from '@tributary/store';
import type { StepRow } from './series-window';

/**
 * A difference of two samples further apart than this is no rate: the sampler was down in between (a
 * restart), and spreading what happened meanwhile over the gap would draw a rate nobody saw.
 */
const MAX_SAMPLE_GAP_SECONDS = 30;

/** The rate and lag of one source or group over the last few samples (the live stream's numbers). */
export interface RecentRate {
  kind: 'source' | 'group';
  name: string;
  rate: number | null;
}

/**
 * Per-sample differences: `delta` messages in `dt` seconds, counted only where the same partitions were
 * summed (a partition joining or leaving is no advance), the gap is short, and the position did not go
 * back (a topic deleted, a group's offsets reset to earlier: no delivery either).
 */
const DELTAS = `
  SELECT kind, name, at, behind,
         CASE WHEN parts = lag(parts) OVER w AND extract(epoch FROM at - lag(at) OVER w) <= ${MAX_SAMPLE_GAP_SECONDS}
              THEN extract(epoch FROM at - lag(at) OVER w) END AS dt,
         GREATEST(position - lag(position) OVER w, 0) AS delta
    FROM tributary.stats_samples
   WHERE at >= $1::timestamptz - interval '${MAX_SAMPLE_GAP_SECONDS} seconds' AND at < $2::timestamptz
  WINDOW w AS (PARTITION BY kind, name ORDER BY at)`;

/** The time series behind the console's charts: samples of positions, read back as rates per step. */
export class StatsRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * One sample of every source and group, in one statement over the partition heads and committed
   * offsets; skipped when another process sampled less than `minGapMs` ago. Several api processes share
   * the table: the transaction lock makes them take turns, and the one after the sampler sees its row
   * (the statement's snapshot is taken after the lock), so there is one sample per interval. Answers
   * how many rows it wrote.
   */
  async sample(minGapMs: number): Promise<number> {
    return withTransaction(this.pool, async (c) => {
      const { rows } = await c.query<{ mine: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtext('tributary.stats')) AS mine`);
      if (!rows[0].mine) return 0;
      const { rowCount } = await c.query(
        `INSERT INTO tributary.stats_samples (at, kind, name, position, parts, behind)
         SELECT now(), s.* FROM (
           SELECT 'source' AS kind, st.source AS name, sum(tp.next_offset)::bigint AS position, count(*)::int AS parts,
                  NULL::bigint AS behind
             FROM (SELECT DISTINCT source, topic FROM tributary.source_tables) st
             JOIN tributary.topic_partitions tp ON tp.topic = st.topic
            GROUP BY st.source
           UNION ALL
           SELECT 'group', o.group_name, sum(o.next_offset)::bigint, count(*)::int,
                  sum(GREATEST(tp.next_offset - o.next_offset, 0))::bigint
             FROM tributary.group_offsets o
             JOIN tributary.topic_partitions tp ON tp.topic = o.topic AND tp.partition = o.partition
            GROUP BY o.group_name) s
          WHERE NOT EXISTS (SELECT 1 FROM tributary.stats_samples WHERE at > now() - $1::int * interval '1 millisecond')
         ON CONFLICT DO NOTHING`,
        [minGapMs],
      );
      return rowCount ?? 0;
    });
  }

  /** Drops samples older than `retentionMs`. */
  async prune(retentionMs: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM tributary.stats_samples WHERE at < now() - $1::bigint * interval '1 millisecond'`,
      [retentionMs],
    );
    return rowCount ?? 0;
  }

  /**
   * Steps of `stepSeconds` from `fromMs` (a step start) to before `untilMs`: per source and group the
   * average rate over the step (messages counted over the seconds sampled in it) and the largest lag.
   */
  async steps(fromMs: number, untilMs: number, stepSeconds: number): Promise<StepRow[]> {
    const { rows } = await this.pool.query<{
      kind: 'source' | 'group';
      name: string;
      step: string;
      rate: number | null;
      behind: string | null;
    }>(
      `WITH d AS (${DELTAS})
       SELECT kind, name, (floor(extract(epoch FROM at) / $3) * $3 * 1000)::bigint AS step,
              (sum(delta) FILTER (WHERE dt IS NOT NULL) / NULLIF(sum(dt) FILTER (WHERE dt IS NOT NULL), 0))::float8 AS rate,
              max(behind) AS behind
         FROM d WHERE at >= $1::timestamptz
        GROUP BY 1, 2, 3`,
      [new Date(fromMs), new Date(untilMs), stepSeconds],
    );
    return rows.map((r) => ({ ...r, step: Number(r.step), behind: r.behind === null ? null : Number(r.behind) }));
  }

  /** Each source's and group's average rate over the last `seconds` of samples. */
  async recentRates(seconds: number): Promise<RecentRate[]> {
    const now = Date.now();
    const { rows } = await this.pool.query<RecentRate>(
      `WITH d AS (${DELTAS})
       SELECT kind, name,
              (sum(delta) FILTER (WHERE dt IS NOT NULL) / NULLIF(sum(dt) FILTER (WHERE dt IS NOT NULL), 0))::float8 AS rate
         FROM d WHERE at >= $1::timestamptz
        GROUP BY 1, 2`,
      [new Date(now - seconds * 1000), new Date(now + 60_000)],
    );
    return rows;
  }
}
