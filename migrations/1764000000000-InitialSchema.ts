import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tributary.topics (
        name            text PRIMARY KEY,
        partitions      int NOT NULL,
        retention_ms    bigint,
        retention_bytes bigint,
        created_at      timestamptz NOT NULL DEFAULT now()
      )`);
    // One row per partition: the log head. Appenders lock it for their transaction, so offsets are
    // handed out in commit order and a reader never sees offset n+1 before offset n.
    await q.query(`
      CREATE TABLE tributary.topic_partitions (
        topic       text NOT NULL,
        partition   int NOT NULL,
        next_offset bigint NOT NULL DEFAULT 0,
        CONSTRAINT topic_partitions_pkey PRIMARY KEY (topic, partition)
      )`);
    await q.query(`
      CREATE TABLE tributary.messages (
        topic       text NOT NULL,
        partition   int NOT NULL,
        "offset"    bigint NOT NULL,
        key         text,
        envelope    json NOT NULL, -- json, not jsonb: keeps the text exactly (column order, big numbers)
        source_lsn  bigint,
        tx_id       bigint,
        commit_time timestamptz,
        appended_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT messages_pkey PRIMARY KEY (topic, partition, "offset")
      )`);
    await q.query(`
      CREATE TABLE tributary.source_checkpoints (
        source      text PRIMARY KEY,
        lsn         bigint NOT NULL, -- LSNs are stored as bigint; the API shows them as X/Y
        tx_id       bigint,
        commit_time timestamptz,
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE tributary.source_checkpoints');
    await q.query('DROP TABLE tributary.messages');
    await q.query('DROP TABLE tributary.topic_partitions');
    await q.query('DROP TABLE tributary.topics');
  }
}
