import type { MigrationInterface, QueryRunner } from 'typeorm';

export class SourceTables1764200000000 implements MigrationInterface {
  name = 'SourceTables1764200000000';

  async up(q: QueryRunner): Promise<void> {
    // The shape of every captured table as capture last saw it (from pgoutput relation messages), so
    // sinks can create and evolve target tables without a connection to the source.
    await q.query(`
      CREATE TABLE tributary.source_tables (
        source      text NOT NULL,
        schema_name text NOT NULL,
        table_name  text NOT NULL,
        topic       text NOT NULL,
        columns     jsonb NOT NULL,
        primary_key text[] NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT source_tables_pkey PRIMARY KEY (source, schema_name, table_name)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE tributary.source_tables');
  }
}
