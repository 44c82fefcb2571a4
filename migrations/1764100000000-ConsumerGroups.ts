import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ConsumerGroups1764100000000 implements MigrationInterface {
  name = 'ConsumerGroups1764100000000';

  async up(q: QueryRunner): Promise<void> {
    // Bytes per partition, kept by append and the janitor, so retention.bytes needs no table scan.
    await q.query(`ALTER TABLE tributary.topic_partitions ADD COLUMN bytes bigint NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE tributary.messages ADD COLUMN size int NOT NULL DEFAULT 0`);
    await q.query(`
      CREATE TABLE tributary.consumer_groups (
        name               text PRIMARY KEY,
        topics             text[] NOT NULL,
        start_from         text NOT NULL DEFAULT 'earliest',
        reset_policy       text NOT NULL DEFAULT 'earliest',
        session_timeout_ms int NOT NULL DEFAULT 6000,
        paused             boolean NOT NULL DEFAULT false,
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE tributary.group_members (
        group_name   text NOT NULL,
        member_id    text NOT NULL,
        client       text NOT NULL,
        joined_at    timestamptz NOT NULL DEFAULT now(),
        heartbeat_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT group_members_pkey PRIMARY KEY (group_name, member_id)
      )`);
    // Who owns a partition for a group. Every change of owner increments the generation: a commit
    // carries the generation it was made under and is rejected once it is stale (fencing).
    await q.query(`
      CREATE TABLE tributary.partition_leases (
        group_name  text NOT NULL,
        topic       text NOT NULL,
        partition   int NOT NULL,
        member_id   text,
        generation  bigint NOT NULL DEFAULT 0,
        acquired_at timestamptz,
        CONSTRAINT partition_leases_pkey PRIMARY KEY (group_name, topic, partition)
      )`);
    // The committed position: the next offset the group will consume.
    await q.query(`
      CREATE TABLE tributary.group_offsets (
        group_name    text NOT NULL,
        topic         text NOT NULL,
        partition     int NOT NULL,
        next_offset   bigint NOT NULL,
        status        text NOT NULL DEFAULT 'ok',
        status_detail text,
        updated_at    timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT group_offsets_pkey PRIMARY KEY (group_name, topic, partition)
      )`);
    await q.query(`
      CREATE TABLE tributary.group_events (
        id         bigserial PRIMARY KEY,
        group_name text NOT NULL,
        topic      text NOT NULL,
        partition  int NOT NULL,
        kind       text NOT NULL,
        detail     text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE tributary.dead_letters (
        id         bigserial PRIMARY KEY,
        group_name text NOT NULL,
        topic      text NOT NULL,
        partition  int NOT NULL,
        "offset"   bigint NOT NULL,
        key        text,
        envelope   json NOT NULL,
        error      text NOT NULL,
        attempts   int NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT dead_letters_message_key UNIQUE (group_name, topic, partition, "offset")
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['dead_letters', 'group_events', 'group_offsets', 'partition_leases', 'group_members', 'consumer_groups']) {
      await q.query(`DROP TABLE tributary.${t}`);
    }
    await q.query('ALTER TABLE tributary.messages DROP COLUMN size');
    await q.query('ALTER TABLE tributary.topic_partitions DROP COLUMN bytes');
  }
}
