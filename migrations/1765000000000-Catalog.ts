import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The desired state the API and config-as-code manage: sources, and how each consumer group runs (its
 * sink, members, retries). Capture and worker processes follow these rows; `version` guards concurrent
 * updates (a stale If-Match gets 409) and tells processes what changed.
 */
export class Catalog1765000000000 implements MigrationInterface {
  name = 'Catalog1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tributary.sources (
        name       text PRIMARY KEY,
        spec       jsonb NOT NULL,
        version    int NOT NULL DEFAULT 1,
        managed_by text NOT NULL DEFAULT 'api',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT sources_managed_by_check CHECK (managed_by IN ('api', 'file'))
      )`);
    // NULL runtime: a group made before the catalog existed; it reads back as a pull group (no worker runs it).
    await q.query(`
      ALTER TABLE tributary.consumer_groups
        ADD COLUMN runtime    jsonb,
        ADD COLUMN version    int NOT NULL DEFAULT 1,
        ADD COLUMN managed_by text NOT NULL DEFAULT 'api',
        ADD CONSTRAINT consumer_groups_managed_by_check CHECK (managed_by IN ('api', 'file'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE tributary.consumer_groups
        DROP CONSTRAINT consumer_groups_managed_by_check,
        DROP COLUMN managed_by, DROP COLUMN version, DROP COLUMN runtime`);
    await q.query('DROP TABLE tributary.sources');
  }
}
