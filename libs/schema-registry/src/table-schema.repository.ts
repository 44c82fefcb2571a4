import type { ClientBase, Pool } from 'pg';
import type { TableSchema } from './table-schema';

/** Captured tables' shapes, written by capture, read by sinks. */
export class TableSchemaRepository {
  constructor(private readonly pool: Pool) {}

  /** Saves a table's shape; a no-op when it did not change. Runs in the caller's transaction if any. */
  static async save(client: ClientBase, t: TableSchema): Promise<void> {
    await client.query(
      `INSERT INTO tributary.source_tables (source, schema_name, table_name, topic, columns, primary_key)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6)
       ON CONFLICT (source, schema_name, table_name) DO UPDATE
          SET topic = EXCLUDED.topic, columns = EXCLUDED.columns, primary_key = EXCLUDED.primary_key, updated_at = now()
        WHERE (source_tables.topic, source_tables.columns, source_tables.primary_key)
              IS DISTINCT FROM (EXCLUDED.topic, EXCLUDED.columns, EXCLUDED.primary_key)`,
      [t.source, t.schema, t.table, t.topic, JSON.stringify(t.columns), t.primaryKey],
    );
  }

  async get(source: string, schema: string, table: string): Promise<TableSchema | undefined> {
    const { rows } = await this.pool.query<{
      source: string;
      schema_name: string;
      table_name: string;
      topic: string;
      columns: TableSchema['columns'];
      primary_key: TableSchema['primaryKey'];
    }>(
      `SELECT source, schema_name, table_name, topic, columns, primary_key
         FROM tributary.source_tables WHERE source = $1 AND schema_name = $2 AND table_name = $3`,
      [source, schema, table],
    );
    if (!rows.length) return undefined;
    const r = rows[0];
    return {
      source: r.source,
      schema: r.schema_name,
      table: r.table_name,
      topic: r.topic,
      columns: r.columns,
      primaryKey: r.primary_key,
    };
  }
}
