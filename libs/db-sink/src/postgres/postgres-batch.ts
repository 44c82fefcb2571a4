import type { ColumnSchema } from '@tributary/schema-registry';
import { toPostgres } from './postgres-values';

/** A target table's column types as the server names them without modifiers: format_type(type, -1) (`numeric`, `bpchar`, not `character`, which means character(1)). */
export type ColumnTypes = Map<string, string>;

/** What a batch statement needs: the text, and one array parameter per column. */
export interface BatchStatement {
  text: string;
  values: unknown[];
}

/**
 * One upsert of many rows as one statement with one array parameter per column:
 * `INSERT ... SELECT * FROM unnest($1::bigint[], $2::text[], ...) ON CONFLICT ...`. Its text depends only
 * on the table and the column set, so it is prepared once and reused by every batch, and the server
 * parses eight parameters instead of eight per row. The arrays are typed with the target's own types
 * without modifiers: each value is read by the same input function as a plain parameter would be, and
 * the assignment to the column applies its modifier (a too-long varchar fails, never truncates).
 */
export function upsertStatement(
  table: string,
  columns: ColumnSchema[],
  primaryKey: string[],
  types: ColumnTypes,
  rows: Record<string, unknown>[],
): BatchStatement {
  const updates = columns.filter((c) => !primaryKey.includes(c.name)).map((c) => `${quote(c.name)} = EXCLUDED.${quote(c.name)}`);
  const conflict = updates.length ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING';
  return {
    text:
      `INSERT INTO ${table} (${columns.map((c) => quote(c.name)).join(', ')}) ${unnestSelect(columns, types)} ` +
      `ON CONFLICT (${primaryKey.map(quote).join(', ')}) ${conflict}`,
    values: columnArrays(columns, types, rows),
  };
}

/** Deletes rows by key: `= ANY($1)` for one key column, `IN (SELECT ... FROM unnest(...))` for several. */
export function deleteStatement(
  table: string,
  key: ColumnSchema[],
  types: ColumnTypes,
  keys: Record<string, unknown>[],
): BatchStatement {
  const values = columnArrays(key, types, keys);
  if (key.length === 1 && !isArrayType(typeOf(key[0], types))) {
    return { text: `DELETE FROM ${table} WHERE ${quote(key[0].name)} = ANY($1::${typeOf(key[0], types)}[])`, values };
  }
  const cols = key.map((c) => quote(c.name)).join(', ');
  return { text: `DELETE FROM ${table} WHERE (${cols}) IN (${unnestSelect(key, types)})`, values };
}

/**
 * `SELECT u.c1, u.c2, ... FROM unnest($1::type1[], ...) AS u(c1, ...)`. unnest flattens every dimension,
 * so a column that is itself an array travels as a text[] of array literals, cast back one by one.
 */
function unnestSelect(columns: ColumnSchema[], types: ColumnTypes): string {
  const select: string[] = [];
  const params: string[] = [];
  columns.forEach((c, i) => {
    const type = typeOf(c, types);
    if (isArrayType(type)) {
      params.push(`$${i + 1}::text[]`);
      select.push(`u.c${i + 1}::${type}`);
    } else {
      params.push(`$${i + 1}::${type}[]`);
      select.push(`u.c${i + 1}`);
    }
  });
  return `SELECT ${select.join(', ')} FROM unnest(${params.join(', ')}) AS u(${columns.map((_, i) => `c${i + 1}`).join(', ')})`;
}

/** Each column's values as one array literal (built here: the driver's own quoting is several times slower). */
function columnArrays(columns: ColumnSchema[], types: ColumnTypes, rows: Record<string, unknown>[]): string[] {
  return columns.map((c) => {
    const nested = isArrayType(typeOf(c, types));
    const parts = new Array<string>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const v = toPostgres(rows[i][c.name], c);
      parts[i] = v === null ? 'NULL' : element(nested && Array.isArray(v) ? arrayLiteral(v) : v);
    }
    return `{${parts.join(',')}}`;
  });
}

/** A Postgres array literal of driver values (text, booleans, buffers, nested arrays), as the driver writes it. */
export function arrayLiteral(items: unknown[]): string {
  return `{${items.map((v) => (v === null || v === undefined ? 'NULL' : Array.isArray(v) ? arrayLiteral(v) : element(v))).join(',')}}`;
}

/** One element, always double-quoted: an empty string, `NULL`, braces and commas stay text. */
function element(value: unknown): string {
  if (Buffer.isBuffer(value)) return `"\\\\x${value.toString('hex')}"`;
  const text = typeof value === 'string' ? value : String(value);
  return text.includes('\\') || text.includes('"') ? `"${text.replace(/[\\"]/g, '\\$&')}"` : `"${text}"`;
}

function typeOf(column: ColumnSchema, types: ColumnTypes): string {
  // A column the lookup did not see (the table changed meanwhile): text, so the statement fails on the column.
  return types.get(column.name) ?? 'text';
}

function isArrayType(type: string): boolean {
  return type.endsWith('[]');
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
