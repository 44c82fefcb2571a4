import type { ClientBase } from 'pg';

/** A configured table (`table` is `*` for every table of the schema). */
export interface NamedTable {
  schema: string;
  table: string;
}

/**
 * The configured tables (and schemas, for `schema.*`) that do not exist on the source now, as
 * `schema.table`: dropped, renamed, or not created yet. One query, by name, as capture publishes them.
 */
export async function missingTables(client: ClientBase, tables: readonly NamedTable[]): Promise<string[]> {
  if (tables.length === 0) return [];
  const { rows } = await client.query<{ name: string }>(
    `SELECT t.schema_name || '.' || t.table_name AS name
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(schema_name, table_name, n)
      WHERE CASE WHEN t.table_name = '*'
                 THEN NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = t.schema_name)
                 ELSE to_regclass(quote_ident(t.schema_name) || '.' || quote_ident(t.table_name)) IS NULL END
      ORDER BY t.n`,
    [tables.map((t) => t.schema), tables.map((t) => t.table)],
  );
  return rows.map((r) => r.name);
}
