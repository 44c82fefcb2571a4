export { TableSchemaRepository } from './table-schema.repository';
export type { ColumnSchema, TableSchema, ValueKindName } from './table-schema';
