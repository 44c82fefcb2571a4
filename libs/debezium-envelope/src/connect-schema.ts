/** A Kafka Connect schema as its JSON converter writes it (`schemas.enable=true`). */
export interface ConnectSchema {
  type: 'boolean' | 'int16' | 'int32' | 'int64' | 'float' | 'double' | 'string' | 'bytes' | 'array' | 'struct';
  optional?: boolean;
  name?: string;
  version?: number;
  parameters?: Record<string, string>;
  default?: unknown;
  items?: ConnectSchema;
  fields?: ConnectField[];
  field?: string;
}

export type ConnectField = ConnectSchema & { field: string };

export const field = (name: string, schema: ConnectSchema, optional: boolean): ConnectField => ({
  ...schema,
  optional,
  field: name,
});

/** Debezium's PostgreSQL `source` block schema (io.debezium.connector.postgresql.Source). */
export const SOURCE_SCHEMA: ConnectSchema = {
  type: 'struct',
  fields: [
    field('version', { type: 'string' }, false),
    field('connector', { type: 'string' }, false),
    field('name', { type: 'string' }, false),
    field('ts_ms', { type: 'int64' }, false),
    field('ts_us', { type: 'int64' }, true),
    field('ts_ns', { type: 'int64' }, true),
    {
      type: 'string',
      optional: true,
      name: 'io.debezium.data.Enum',
      version: 1,
      parameters: { allowed: 'true,first,first_in_data_collection,last_in_data_collection,last,false,incremental' },
      default: 'false',
      field: 'snapshot',
    },
    field('db', { type: 'string' }, false),
    field('sequence', { type: 'string' }, true),
    field('schema', { type: 'string' }, false),
    field('table', { type: 'string' }, false),
    field('txId', { type: 'int64' }, true),
    field('lsn', { type: 'int64' }, true),
    field('xmin', { type: 'int64' }, true),
  ],
  optional: false,
  name: 'io.debezium.connector.postgresql.Source',
};
