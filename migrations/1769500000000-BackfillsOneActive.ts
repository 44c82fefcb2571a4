import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * At most one active (pending or running) backfill per table and condition, kept by the database: two
 * API requests checking at once could each find none and both insert. The condition is indexed by its
 * md5 (a condition may be longer than a btree entry allows); NULL (no condition) is one value of its own.
 * Duplicates that such a race left are cancelled first, keeping the running one, else the oldest.
 */
export class BackfillsOneActive1769500000000 implements MigrationInterface {
  name = 'BackfillsOneActive1769500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      UPDATE tributary.backfills b
         SET status = 'cancelled', error = 'a duplicate of backfill ' || d.kept || ', which goes on',
             finished_at = now(), updated_at = now()
        FROM (SELECT id, first_value(id) OVER (PARTITION BY source, schema_name, table_name, where_clause
                                               ORDER BY status = 'running' DESC, id) AS kept
                FROM tributary.backfills WHERE status IN ('pending', 'running')) d
       WHERE b.id = d.id AND d.id <> d.kept`);
    await q.query(`
      CREATE UNIQUE INDEX backfills_one_active_idx
          ON tributary.backfills (source, schema_name, table_name, COALESCE(md5(where_clause), ''))
       WHERE status IN ('pending', 'running')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX tributary.backfills_one_active_idx');
  }
}
