import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Messages are stored as record batches, as Kafka does: one row per partition per append, holding that
 * append's messages as JSON arrays (envelopes and keys) and arrays of their source LSNs, transaction ids
 * and commit times. One indexed row per message made every append pay a heap tuple, an index entry and a
 * JSON parse per change; a batch row pays them once per append, and its large values are compressed.
 *
 * `tributary.messages` stays, as a read-only view with one row per message, for people and tools.
 */
/** The view of one row per message, as this migration made it (SnapshotRowBatches drops it; its down restores it). */
export const MESSAGES_VIEW = `
  CREATE VIEW tributary.messages AS
  SELECT b.topic, b.partition, b.base_offset + m.n - 1 AS "offset", m.key,
         m.envelope, m.source_lsn, m.tx_id, to_timestamp(m.commit_ms / 1000.0) AS commit_time,
         b.appended_at, octet_length(m.envelope::text) AS size
    FROM tributary.message_batches b
   CROSS JOIN LATERAL ROWS FROM (json_array_elements(b.envelopes), json_array_elements_text(b.keys),
                                unnest(b.source_lsns), unnest(b.tx_ids), unnest(b.commit_times))
         WITH ORDINALITY AS m(envelope, key, source_lsn, tx_id, commit_ms, n)`;

export class RecordBatches1766000000000 implements MigrationInterface {
  name = 'RecordBatches1766000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tributary.message_batches (
        topic        text NOT NULL,
        partition    int NOT NULL,
        base_offset  bigint NOT NULL,
        last_offset  bigint NOT NULL,
        envelopes    json NOT NULL,     -- [envelope, ...]: json keeps each envelope's exact text
        keys         json NOT NULL,     -- [key text as a JSON string, or null, ...], in the same order
        source_lsns  bigint[] NOT NULL,
        tx_ids       bigint[] NOT NULL,
        commit_times bigint[] NOT NULL, -- epoch milliseconds
        bytes        bigint NOT NULL,   -- the envelopes' bytes, for retention.bytes
        appended_at  timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT message_batches_pkey PRIMARY KEY (topic, partition, last_offset),
        CONSTRAINT message_batches_offsets_check CHECK (last_offset >= base_offset)
      )`);
    // lz4 compresses JSON several times faster than the default pglz; builds without it keep pglz.
    await q.query(`
      DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
          ALTER TABLE tributary.message_batches ALTER COLUMN envelopes SET COMPRESSION lz4,
                                                ALTER COLUMN keys SET COMPRESSION lz4;
        END IF;
      END $$`);
    await q.query(`
      INSERT INTO tributary.message_batches
        (topic, partition, base_offset, last_offset, envelopes, keys, source_lsns, tx_ids, commit_times, bytes, appended_at)
      SELECT topic, partition, "offset", "offset", json_build_array(envelope), json_build_array(key),
             ARRAY[source_lsn], ARRAY[tx_id], ARRAY[(extract(epoch FROM commit_time) * 1000)::bigint], size, appended_at
        FROM tributary.messages`);
    await q.query('DROP TABLE tributary.messages');
    await q.query(MESSAGES_VIEW);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER VIEW tributary.messages RENAME TO messages_view`);
    await q.query(`
      CREATE TABLE tributary.messages (
        topic       text NOT NULL,
        partition   int NOT NULL,
        "offset"    bigint NOT NULL,
        key         text,
        envelope    json NOT NULL,
        source_lsn  bigint,
        tx_id       bigint,
        commit_time timestamptz,
        appended_at timestamptz NOT NULL DEFAULT now(),
        size        int NOT NULL DEFAULT 0,
        CONSTRAINT messages_pkey PRIMARY KEY (topic, partition, "offset")
      )`);
    await q.query(`
      INSERT INTO tributary.messages (topic, partition, "offset", key, envelope, source_lsn, tx_id, commit_time, appended_at, size)
      SELECT topic, partition, "offset", key, envelope, source_lsn, tx_id, commit_time, appended_at, size
        FROM tributary.messages_view`);
    await q.query('DROP VIEW tributary.messages_view');
    await q.query('DROP TABLE tributary.message_batches');
  }
}
