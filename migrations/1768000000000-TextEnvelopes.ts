import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Envelopes and keys are stored as text instead of json. Capture renders them as JSON and its tests
 * prove that; having the platform database parse every envelope again on insert cost it 2.2 µs per
 * message, about 40 % of its work per captured row. Readers split and parse the text as before.
 *
 * Both directions rewrite the table (an I/O conversion), holding its lock meanwhile.
 */
export class TextEnvelopes1768000000000 implements MigrationInterface {
  name = 'TextEnvelopes1768000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(retype('text'));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(retype('json'));
  }
}

/**
 * A type change resets a column's compression to the server's default (pglz), so the lz4 that
 * RecordBatches chose is set again in the same statement, where the server has it: the rewrite then
 * compresses the existing rows with it too.
 */
function retype(type: 'text' | 'json'): string {
  const change = `ALTER COLUMN envelopes TYPE ${type} USING envelopes::${type},
                  ALTER COLUMN keys TYPE ${type} USING keys::${type}`;
  return `
    DO $$ BEGIN
      IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE tributary.message_batches ${change},
                  ALTER COLUMN envelopes SET COMPRESSION lz4,
                  ALTER COLUMN keys SET COMPRESSION lz4;
      ELSE
        ALTER TABLE tributary.message_batches ${change};
      END IF;
    END $$`;
}
