import type { ColumnSchema } from '@tributary/schema-registry';

const BUILTIN =
  /^(smallint|integer|bigint|numeric(\(\d+(,\d+)?\))?|real|double precision|boolean|text|character varying(\(\d+\))?|character(\(\d+\))?|"char"|name|uuid|jsonb?|bytea|date|time(\(\d\))? (with|without) time zone|timestamp(\(\d\))? (with|without) time zone|interval.*|inet|cidr|macaddr8?|money|oid|xml|tsvector|tsquery|point|line|lseg|box|path|polygon|circle|bit( varying)?(\(\d+\))?)(\[\])*$/;

/** The type to create a target column with: the source's own, unless it is a user type the target lacks. */
export function postgresColumnType(column: ColumnSchema): string {
  if (BUILTIN.test(column.type)) return column.type;
  // Enums and other user types: their text form, which is what the envelope carries.
  return column.kind === 'array' ? 'text[]' : column.kind === 'json' ? 'jsonb' : 'text';
}
