import type { ColumnSchema } from '@tributary/schema-registry';
import type { KeylessSyntax } from '../keyless-rows';
import { postgresColumnType } from './postgres-types';
import { toPostgres } from './postgres-values';

/**
 * Tables without a key on Postgres. A row equals `before` when each `match` column equals it by its
 * text form, with the value first cast to the column's own type, so every type compares (json, xml
 * and the geometric types have no equality operator) and compares exactly: `1.5` and `1.50` are two
 * numerics, a real compares by the value it holds (`'1.10000002'::real::text` is `1.1`, as the stored
 * value prints), NaN equals NaN, and arrays compare element by element. json and jsonb compare as
 * jsonb: formatting and key order do not count. NULL equals NULL. One row is the first the scan finds,
 * by its ctid.
 */
export const POSTGRES_KEYLESS: KeylessSyntax = {
  bind: (values, value, column) => `$${values.push(toPostgres(value, column))}`,
  equality: () =>
    Promise.resolve((c, name, param) =>
      c.kind === 'json'
        ? `${name}::jsonb IS NOT DISTINCT FROM ${param}::jsonb`
        : `${name}::text IS NOT DISTINCT FROM (${param}::${postgresColumnType(c)})::text`,
    ),
  oneRow: (table, where) => `WHERE ctid = (SELECT ctid FROM ${table} WHERE ${where} LIMIT 1)`,
  inserts: insertStatements,
};

/** Bind parameters per statement of keyless inserts (Postgres allows 65,535). */
const MAX_PARAMS = 60_000;

function* insertStatements(table: string, names: string, columns: ColumnSchema[], rows: Record<string, unknown>[]) {
  const perStatement = columns.length ? Math.max(1, Math.floor(MAX_PARAMS / columns.length)) : 1;
  for (let start = 0; start < rows.length; start += perStatement) {
    const values: unknown[] = [];
    const tuples = rows
      .slice(start, start + perStatement)
      .map((row) => `(${columns.map((c) => `$${values.push(toPostgres(row[c.name], c))}`).join(', ')})`);
    const text = columns.length
      ? `INSERT INTO ${table} (${names}) VALUES ${tuples.join(', ')}`
      : `INSERT INTO ${table} DEFAULT VALUES`;
    yield { text, values };
  }
}
