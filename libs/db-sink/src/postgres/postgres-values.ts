import { stringifyExact } from '../exact-json';
import type { ColumnSchema } from '@tributary/schema-registry';
import { isLosslessNumber, scalarText } from '../change';

/** An envelope value as a pg driver parameter for a column of the same Postgres type. */
export function toPostgres(value: unknown, column: ColumnSchema): unknown {
  if (value === null || value === undefined) return null;
  switch (column.kind) {
    case 'json':
      return stringifyExact(value);
    case 'bytea':
      return Buffer.from(scalarText(value), 'base64');
    case 'bool':
      return value === true;
    case 'array':
      return arrayElements(value as unknown[]);
    default:
      return scalarText(value);
  }
}

/** Array elements the pg driver can render into an array literal (it quotes and escapes them). */
function arrayElements(items: unknown[]): unknown[] {
  return items.map((item) => {
    if (item === null || item === undefined) return null;
    if (Array.isArray(item)) return arrayElements(item);
    if (isLosslessNumber(item) || typeof item !== 'object') return scalarText(item);
    return stringifyExact(item); // json[] / jsonb[] elements
  });
}
