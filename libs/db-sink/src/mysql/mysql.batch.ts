import { escape } from 'mysql2/promise';
import type { ColumnSchema } from '@tributary/schema-registry';
import { IncompatibleTargetError } from '../target-dialect';
import { toMysql } from './mysql.types';

/** How long a statement may be, in UTF-8 bytes. */
export interface StatementLimits {
  /** Rows are added to a statement while it stays this short (a row longer than this goes alone). */
  targetBytes: number;
  /** The server's max_allowed_packet, less room for the packet's framing: no statement may be longer. */
  maxBytes: number;
}

/**
 * Rows as multi-row statements `head (v, …), (v, …) tail`, each value escaped by mysql2 (the session's
 * sql_mode has neither NO_BACKSLASH_ESCAPES nor ANSI_QUOTES, which is what mysql2's escaping assumes).
 * One statement per batch in the common case: one round trip, one statement for the server to parse
 * and run. Made one at a time, as they are sent. A row that cannot fit alone is refused, since no
 * retry could send it.
 */
export function* valuesStatements(
  head: string,
  tail: string,
  columns: ColumnSchema[],
  rows: Record<string, unknown>[],
  limits: StatementLimits,
): Generator<string> {
  const fixed = Buffer.byteLength(head) + Buffer.byteLength(tail);
  let text = '';
  let bytes = fixed;
  for (const row of rows) {
    const tuple = valuesTuple(columns, row);
    const size = Buffer.byteLength(tuple) + 2; // and ", "
    if (fixed + size > limits.maxBytes) {
      throw new IncompatibleTargetError(
        `a row is ${fixed + size} bytes as a statement, more than the server's max_allowed_packet allows ` +
          `(${limits.maxBytes} bytes after the packet's framing): raise max_allowed_packet`,
      );
    }
    if (text && bytes + size > limits.targetBytes) {
      yield head + text + tail;
      text = '';
      bytes = fixed;
    }
    text = text ? `${text}, ${tuple}` : tuple;
    bytes += size;
  }
  if (text) yield head + text + tail;
}

/** `(v1, v2, …)`: one row's values for `columns`, escaped. */
function valuesTuple(columns: ColumnSchema[], row: Record<string, unknown>): string {
  let tuple = '(';
  for (let i = 0; i < columns.length; i++) {
    if (i) tuple += ', ';
    tuple += escape(toMysql(row[columns[i].name], columns[i]));
  }
  return `${tuple})`;
}
