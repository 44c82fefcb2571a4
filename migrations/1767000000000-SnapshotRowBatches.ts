import type { MigrationInterface, QueryRunner } from 'typeorm';
import { MESSAGES_VIEW } from './1766000000000-RecordBatches';

/**
 * A record batch holds either envelopes (captured changes, rendered by capture) or snapshot rows: the
 * rows of one snapshot chunk as the source's COPY text, with what they share (table, columns, the
 * watermark's transaction) once in `row_format`; readers render their envelopes (see
 * libs/topic-log/src/row-batch.ts). Storing the rows as COPY sent them is what lets a snapshot run at
 * the speed of reading the table.
 *
 * The view `tributary.messages` goes: it cannot render snapshot rows, and a view that leaves messages
 * out would mislead. Messages are read through the API (`GET /api/v1/topics/:name/messages`).
 */
export class SnapshotRowBatches1767000000000 implements MigrationInterface {
  name = 'SnapshotRowBatches1767000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('DROP VIEW tributary.messages');
    await q.query(`
      ALTER TABLE tributary.message_batches
        ALTER COLUMN envelopes DROP NOT NULL,
        ALTER COLUMN keys DROP NOT NULL,
        ALTER COLUMN source_lsns DROP NOT NULL,
        ALTER COLUMN tx_ids DROP NOT NULL,
        ALTER COLUMN commit_times DROP NOT NULL,
        ADD COLUMN rows text,       -- per message: seq, a tab, the row's COPY text; one line each
        ADD COLUMN row_format json, -- what renders the rows into envelopes
        ADD CONSTRAINT message_batches_encoding_check CHECK (
          CASE WHEN rows IS NULL
               THEN row_format IS NULL AND envelopes IS NOT NULL AND keys IS NOT NULL AND source_lsns IS NOT NULL
                    AND tx_ids IS NOT NULL AND commit_times IS NOT NULL
               ELSE row_format IS NOT NULL AND envelopes IS NULL AND keys IS NULL AND source_lsns IS NULL
                    AND tx_ids IS NULL AND commit_times IS NULL
          END)`);
    await q.query(`
      DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
          ALTER TABLE tributary.message_batches ALTER COLUMN rows SET COMPRESSION lz4;
        END IF;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    const [{ n }] = (await q.query('SELECT count(*)::int AS n FROM tributary.message_batches WHERE rows IS NOT NULL')) as {
      n: number;
    }[];
    if (n > 0) {
      throw new Error(
        `${n} record batches hold snapshot rows, which the previous schema cannot store: delete them (or their topics) first`,
      );
    }
    await q.query(`
      ALTER TABLE tributary.message_batches
        DROP CONSTRAINT message_batches_encoding_check,
        DROP COLUMN rows,
        DROP COLUMN row_format,
        ALTER COLUMN envelopes SET NOT NULL,
        ALTER COLUMN keys SET NOT NULL,
        ALTER COLUMN source_lsns SET NOT NULL,
        ALTER COLUMN tx_ids SET NOT NULL,
        ALTER COLUMN commit_times SET NOT NULL`);
    await q.query(MESSAGES_VIEW);
  }
}
