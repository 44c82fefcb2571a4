import type { ColumnSchema } from '@tributary/schema-registry';
import type { KeylessSyntax } from '../keyless-rows';
import { type StatementLimits, valuesStatements } from './mysql-batch';
import { mysqlColumnType, toMysql } from './mysql-types';

/**
 * Tables without a key on MySQL and MariaDB. A row equals `before` when each `match` column equals it
 * with `<=>` (NULL equals NULL). The value is cast to the column's type first, so numbers compare as
 * that type and not as doubles (a BIGINT or DECIMAL against a string parameter would, losing digits; a
 * FLOAT holds 1.1 as 1.100000023841858). Text compares as its UTF-8 bytes, not under the column's
 * collation, where `a`, `A` and `a ` are equal. JSON on MySQL compares as JSON (it stores it
 * normalised); on MariaDB JSON is text, written by the sink as the value's compact form, and compares
 * as that text.
 */
export function mysqlKeyless(isMariadb: () => Promise<boolean>, limits: () => StatementLimits): KeylessSyntax {
  return {
    bind: (values, value, column) => {
      values.push(toMysql(value, column));
      return '?';
    },
    equality: async () => {
      const mariadb = await isMariadb();
      return (c, name, param) => matchTerm(c, name, param, mariadb);
    },
    oneRow: (_table, where) => `WHERE ${where} LIMIT 1`,
    inserts: (table, names, columns, rows) =>
      [...valuesStatements(`INSERT INTO ${table} (${names}) VALUES `, '', columns, rows, limits())].map((text) => ({
        text,
        values: [],
      })),
  };
}

/** `column` equals the parameter, compared as the column's type (see mysqlKeyless). */
function matchTerm(column: ColumnSchema, name: string, param: string, mariadb: boolean): string {
  const type = mysqlColumnType(column, false);
  if (/^(SMALLINT|INT|BIGINT)$/.test(type)) return `${name} <=> CAST(${param} AS SIGNED)`;
  if (/^(DECIMAL\(\d+,\d+\)|FLOAT|DOUBLE)$/.test(type)) return `${name} <=> CAST(${param} AS ${type})`;
  if (type === 'JSON') return mariadb ? `${name} <=> ${param}` : `${name} <=> CAST(${param} AS JSON)`;
  if (/^(TINYINT\(1\)|LONGBLOB|VARBINARY\(255\)|DATE|TIME\(6\)|DATETIME\(6\))$/.test(type)) return `${name} <=> ${param}`;
  const bytes = `CAST(CONVERT(${name} USING utf8mb4) AS BINARY)`;
  // CHAR(n) of a Postgres character(n): MySQL drops the trailing padding Postgres keeps.
  if (column.type.startsWith('character(') && type.startsWith('CHAR(')) return `${bytes} <=> CAST(RTRIM(${param}) AS BINARY)`;
  return `${bytes} <=> CAST(${param} AS BINARY)`;
}
