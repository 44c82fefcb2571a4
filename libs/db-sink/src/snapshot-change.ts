import type { ConsumedMessage } from '@tributary/sink-contract';
import { renderValue, type ValueKind } from '@tributary/pg-source';
import { copyField, type SnapshotRow } from '@tributary/topic-log';
import { parseChange, type RowChange } from './change';
import { exactNumber, parseExact } from './exact-json';

/** A message's row change: a snapshot row's straight from its stored fields, any other's from its envelope. */
export function changeOf(message: ConsumedMessage): RowChange {
  const change = message.snapshotRow ? snapshotChange(message.snapshotRow) : parseChange(message.envelope);
  if (message.route !== undefined) change.route = message.route;
  return change;
}

/**
 * The change of a stored snapshot row, equal to what parseChange gives for the row's rendered `r`
 * envelope (row-batch.ts renders it with renderValue), without building or parsing that JSON: each
 * value is what parseExact reads from renderValue's fragment, taken from the text directly for the
 * common kinds and through the fragment for the rest.
 */
export function snapshotChange(row: SnapshotRow): RowChange {
  const { format, fields } = row;
  const after: Record<string, unknown> = {};
  for (let i = 0; i < format.columns.length; i++) after[format.columns[i].name] = fieldValue(fields[i], format.columns[i].kind);
  let key: Record<string, unknown> | null = null;
  if (format.keyIndexes.length) {
    key = {};
    for (const i of format.keyIndexes) key[format.columns[i].name] = after[format.columns[i].name];
  }
  return { op: 'r', source: format.source, schema: format.schema, table: format.table, key, after, before: null };
}

function fieldValue(field: string, kind: ValueKind): unknown {
  const text = copyField(field);
  if (text === null) return null;
  switch (kind.kind) {
    case 'bool':
      return text === 't';
    case 'number':
      return exactNumber(text);
    case 'float':
      return text === 'NaN' || text === 'Infinity' || text === '-Infinity' ? text : exactNumber(text);
    case 'exact':
    case 'string':
      return text;
    case 'json':
      return parseExact(text);
    default:
      return parseExact(renderValue(text, kind));
  }
}
