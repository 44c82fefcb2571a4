import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Envelopes and keys are stored as text instead of json. Capture renders them as JSON and its tests
 * prove that; having the platform database parse every envelope again on insert cost it 2.2 µs per
 * message, about 40 % of its work per captured row. Readers split and parse the text as before.
 *
 * Both directions rewrite the table (an I/O conversion), holding its lock meanwhile. The columns keep
 * their lz4 compression (test/topic-log.spec checks it).
 */
export class TextEnvelopes1768000000000 implements MigrationInterface {
  name = 'TextEnvelopes1768000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE tributary.message_batches
        ALTER COLUMN envelopes TYPE text USING envelopes::text,
        ALTER COLUMN keys TYPE text USING keys::text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE tributary.message_batches
        ALTER COLUMN envelopes TYPE json USING envelopes::json,
        ALTER COLUMN keys TYPE json USING keys::json`);
  }
}
