import { stringifyExact } from '../exact-json';
import type { ColumnSchema } from '@tributary/schema-registry';
import { scalarText } from '../change';

/**
 * Postgres type -> MySQL/MariaDB column type (docs/sinks.md has the table). Key columns that would be
 * TEXT become VARCHAR(255), since MySQL cannot index TEXT without a prefix.
 */
export function mysqlColumnType(column: ColumnSchema, isKey: boolean): string {
  const t = column.type;
  if (t.endsWith('[]')) return 'JSON';
  let m: RegExpMatchArray | null;
  if (t === 'smallint') return 'SMALLINT';
  if (t === 'integer') return 'INT';
  if (t === 'bigint') return 'BIGINT';
  if ((m = /^numeric\((\d+),(\d+)\)$/.exec(t))) return `DECIMAL(${Math.min(65, Number(m[1]))},${Math.min(30, Number(m[2]))})`;
  if ((m = /^numeric\((\d+)\)$/.exec(t))) return `DECIMAL(${Math.min(65, Number(m[1]))},0)`;
  if (t === 'numeric') return 'DECIMAL(65,30)';
  if (t === 'real') return 'FLOAT';
  if (t === 'double precision') return 'DOUBLE';
  if (t === 'boolean') return 'TINYINT(1)';
  if (t === 'uuid') return 'CHAR(36)';
  if (t === 'json' || t === 'jsonb') return 'JSON';
  if (t === 'bytea') return isKey ? 'VARBINARY(255)' : 'LONGBLOB';
  if (t === 'date') return 'DATE';
  if (/^time(\(\d\))? without time zone$/.test(t)) return 'TIME(6)';
  if (/^timestamp(\(\d\))? with(out)? time zone$/.test(t)) return 'DATETIME(6)';
  if (t.startsWith('interval')) return 'VARCHAR(64)';
  if ((m = /^character varying\((\d+)\)$/.exec(t))) return Number(m[1]) <= 16_000 ? `VARCHAR(${m[1]})` : 'LONGTEXT';
  if ((m = /^character\((\d+)\)$/.exec(t))) return Number(m[1]) <= 255 ? `CHAR(${m[1]})` : 'LONGTEXT';
  return isKey ? 'VARCHAR(255)' : 'LONGTEXT';
}

/** An envelope value as a mysql2 value (to escape) for a column created by mysqlColumnType. */
export function toMysql(value: unknown, column: ColumnSchema): string | number | Buffer | null {
  if (value === null || value === undefined) return null;
  switch (column.kind) {
    case 'json':
    case 'array':
      return stringifyExact(value);
    case 'bytea':
      return Buffer.from(scalarText(value), 'base64');
    case 'bool':
      return value === true ? 1 : 0;
    case 'timestamptz': {
      // Stored in UTC: "2024-02-29T11:14:15.123456Z" -> "2024-02-29 11:14:15.123456"
      const text = scalarText(value).replace('T', ' ');
      return text.endsWith('Z') ? text.slice(0, -1) : text;
    }
    case 'timestamp':
      return scalarText(value).replace('T', ' ');
    default:
      return scalarText(value);
  }
}
