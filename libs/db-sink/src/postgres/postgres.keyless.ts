import type { ColumnSchema } from '@tributary/schema-registry';
import { postgresColumnType } from './postgres.types';
import { toPostgres } from './postgres.values';

export interface Statement {
  text: string;
  values: unknown[];
}

/**
 * The condition "this row equals `before`" for a table without a key, for its `match` columns. Each
 * column is compared by its text form, with the value first cast to the column's own type, so every
 * type compares (json, xml and the geometric types have no equality operator) and compares exactly:
 * `1.5` and `1.50` are two numerics, a real compares by the value it holds (`'1.10000002'::real::text`
 * is `1.1`, as the stored value prints), NaN equals NaN, and arrays compare element by element. json
 * and jsonb compare as jsonb: formatting and key order do not count. NULL equals NULL.
 */
export function rowMatch(match: ColumnSchema[], before: Record<string, unknown>, q: (name: string) => string, values: unknown[]) {
  const terms = match.map((c) => {
    const param = `$${values.push(toPostgres(before[c.name], c))}`;
    if (c.kind === 'json') return `${q(c.name)}::jsonb IS NOT DISTINCT FROM ${param}::jsonb`;
    return `${q(c.name)}::text IS NOT DISTINCT FROM (${param}::${postgresColumnType(c)})::text`;
  });
  return terms.length ? terms.join(' AND ') : 'true';
}

/** One row (the first the scan finds, by its ctid) of `table` that equals `before` gets `after`'s `set` columns. */
export function updateOneStatement(
  table: string,
  match: ColumnSchema[],
  before: Record<string, unknown>,
  set: ColumnSchema[],
  after: Record<string, unknown>,
  q: (name: string) => string,
): Statement {
  const values: unknown[] = [];
  const assignments = set.map((c) => `${q(c.name)} = $${values.push(toPostgres(after[c.name], c))}`);
  const where = rowMatch(match, before, q, values);
  if (!assignments.length) return { text: `SELECT 1 FROM ${table} WHERE ${where} LIMIT 1`, values }; // nothing to set: only whether it matches
  return {
    text: `UPDATE ${table} SET ${assignments.join(', ')} WHERE ctid = (SELECT ctid FROM ${table} WHERE ${where} LIMIT 1)`,
    values,
  };
}

export function deleteOneStatement(
  table: string,
  match: ColumnSchema[],
  before: Record<string, unknown>,
  q: (name: string) => string,
): Statement {
  const values: unknown[] = [];
  const where = rowMatch(match, before, q, values);
  return { text: `DELETE FROM ${table} WHERE ctid = (SELECT ctid FROM ${table} WHERE ${where} LIMIT 1)`, values };
}

/** Multi-row INSERTs of at most `maxParams` parameters each, without ON CONFLICT: every row is kept. */
export function insertStatements(
  table: string,
  columns: ColumnSchema[],
  rows: Record<string, unknown>[],
  q: (name: string) => string,
  maxParams: number,
): Statement[] {
  const names = columns.map((c) => q(c.name)).join(', ');
  const perStatement = columns.length ? Math.max(1, Math.floor(maxParams / columns.length)) : 1;
  const statements: Statement[] = [];
  for (let start = 0; start < rows.length; start += perStatement) {
    const values: unknown[] = [];
    const tuples = rows
      .slice(start, start + perStatement)
      .map((row) => `(${columns.map((c) => `$${values.push(toPostgres(row[c.name], c))}`).join(', ')})`);
    statements.push({
      text: columns.length
        ? `INSERT INTO ${table} (${names}) VALUES ${tuples.join(', ')}`
        : `INSERT INTO ${table} DEFAULT VALUES`,
      values,
    });
  }
  return statements;
}
