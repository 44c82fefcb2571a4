import type { MigrationInterface, QueryRunner } from 'typeorm';

export class WebhookDeliveries1764600000000 implements MigrationInterface {
  name = 'WebhookDeliveries1764600000000';

  async up(q: QueryRunner): Promise<void> {
    // Every webhook request: which messages, which attempt, the answer (status or error) and its latency.
    await q.query(`
      CREATE TABLE tributary.webhook_attempts (
        id           bigserial PRIMARY KEY,
        group_name   text NOT NULL,
        webhook_id   text NOT NULL,
        topic        text NOT NULL,
        partition    int NOT NULL,
        first_offset bigint NOT NULL,
        last_offset  bigint NOT NULL,
        messages     int NOT NULL,
        attempt      int NOT NULL,
        kind         text NOT NULL,
        status       int,
        latency_ms   int NOT NULL,
        error        text,
        created_at   timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX webhook_attempts_group_idx ON tributary.webhook_attempts (group_name, id)`);
    await q.query(
      `CREATE INDEX webhook_attempts_message_idx ON tributary.webhook_attempts (group_name, topic, partition, first_offset)`,
    );
    // A subscription's state: active, paused (circuit open) or disabled (410 Gone, until re-enabled).
    await q.query(`
      CREATE TABLE tributary.webhook_subscriptions (
        group_name    text PRIMARY KEY,
        url           text NOT NULL,
        status        text NOT NULL DEFAULT 'active',
        status_detail text,
        updated_at    timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE tributary.webhook_subscriptions');
    await q.query('DROP TABLE tributary.webhook_attempts');
  }
}
