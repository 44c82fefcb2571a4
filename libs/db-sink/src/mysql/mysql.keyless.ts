import type { ColumnSchema } from '@tributary/schema-registry';
import { mysqlColumnType, toMysql } from './mysql.types';

export interface Statement {
  sql: string;
  params: unknown[];
}

/**
 * The condition "this row equals `before`" for a table without a key, for its `match` columns, with
 * `<=>` (NULL equals NULL). The value is cast to the column's type first, so numbers compare as that
 * type and not as doubles (a BIGINT or DECIMAL against a string parameter would, losing digits; a FLOAT
 * holds 1.1 as 1.100000023841858). Text compares as its UTF-8 bytes, not under the column's collation,
 * where `a`, `A` and `a ` are equal. JSON on MySQL compares as JSON (it stores it normalised); on
 * MariaDB JSON is text, written by the sink as the value's compact form, and compares as that text.
 */
export function rowMatch(match: ColumnSchema[], before: Record<string, unknown>, q: (name: string) => string, mariadb: boolean) {
  const params = match.map((c) => toMysql(before[c.name], c));
  const terms = match.map((c) => matchTerm(c, q(c.name), mariadb));
  return { sql: terms.length ? terms.join(' AND ') : 'TRUE', params };
}

/** `column` equals the next parameter, compared as the column's type (see rowMatch). */
function matchTerm(column: ColumnSchema, name: string, mariadb: boolean): string {
  const type = mysqlColumnType(column, false);
  if (/^(SMALLINT|INT|BIGINT)$/.test(type)) return `${name} <=> CAST(? AS SIGNED)`;
  if (/^(DECIMAL\(\d+,\d+\)|FLOAT|DOUBLE)$/.test(type)) return `${name} <=> CAST(? AS ${type})`;
  if (type === 'JSON') return mariadb ? `${name} <=> ?` : `${name} <=> CAST(? AS JSON)`;
  if (/^(TINYINT\(1\)|LONGBLOB|VARBINARY\(255\)|DATE|TIME\(6\)|DATETIME\(6\))$/.test(type)) return `${name} <=> ?`;
  const bytes = `CAST(CONVERT(${name} USING utf8mb4) AS BINARY)`;
  // CHAR(n) of a Postgres character(n): MySQL drops the trailing padding Postgres keeps.
  if (column.type.startsWith('character(') && type.startsWith('CHAR(')) return `${bytes} <=> CAST(RTRIM(?) AS BINARY)`;
  return `${bytes} <=> CAST(? AS BINARY)`;
}

export function updateOneStatement(
  table: string,
  match: ColumnSchema[],
  before: Record<string, unknown>,
  set: ColumnSchema[],
  after: Record<string, unknown>,
  q: (name: string) => string,
  mariadb: boolean,
): Statement {
  const where = rowMatch(match, before, q, mariadb);
  if (!set.length) return { sql: `SELECT 1 FROM ${table} WHERE ${where.sql} LIMIT 1`, params: where.params };
  return {
    sql: `UPDATE ${table} SET ${set.map((c) => `${q(c.name)} = ?`).join(', ')} WHERE ${where.sql} LIMIT 1`,
    params: [...set.map((c) => toMysql(after[c.name], c)), ...where.params],
  };
}

export function deleteOneStatement(
  table: string,
  match: ColumnSchema[],
  before: Record<string, unknown>,
  q: (name: string) => string,
  mariadb: boolean,
): Statement {
  const where = rowMatch(match, before, q, mariadb);
  return { sql: `DELETE FROM ${table} WHERE ${where.sql} LIMIT 1`, params: where.params };
}
