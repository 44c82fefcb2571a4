/** How a column's values look in the envelope (see docs/envelope.md). */
export type ValueKindName =
  'bool' | 'number' | 'float' | 'exact' | 'json' | 'bytea' | 'timestamp' | 'timestamptz' | 'string' | 'array';

export interface ColumnSchema {
  name: string;
  /** Postgres type as format_type prints it: `numeric(12,2)`, `timestamp with time zone`, `integer[]`, `mood`. */
  type: string;
  kind: ValueKindName;
}

export interface TableSchema {
  source: string;
  schema: string;
  table: string;
  topic: string;
  columns: ColumnSchema[];
  primaryKey: string[];
}
