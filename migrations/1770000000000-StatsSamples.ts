import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The console's rates and lag over time (GET /api/v1/stats/series): every 5 s the api role samples, per
 * source, the sum of its topics' partition ends, and per group the sum of its committed offsets and its
 * lag. Positions, not rates, are stored, so a rate is the difference of two samples and a restart loses
 * nothing but the samples it did not take. `parts` (the partitions summed) tells a position that jumped
 * because a partition joined from a real advance. Kept 24 hours (StatsSampler prunes).
 */
export class StatsSamples1770000000000 implements MigrationInterface {
  name = 'StatsSamples1770000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tributary.stats_samples (
        at       timestamptz NOT NULL,
        kind     text NOT NULL,
        name     text NOT NULL,
        position bigint NOT NULL, -- sources: messages appended to their topics; groups: committed offsets
        parts    int NOT NULL,    -- how many partitions position sums
        behind   bigint,          -- groups: messages not yet consumed (lag); NULL for sources
        CONSTRAINT stats_samples_pkey PRIMARY KEY (at, kind, name),
        CONSTRAINT stats_samples_kind_check CHECK (kind IN ('source', 'group'))
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE tributary.stats_samples');
  }
}
