import { formatLsn } from '@tributary/topic-log';
import { RawValue, UNCHANGED_TOAST } from './pgoutput/pgoutput.types';
import type { TableInfo } from './table-info';
import { renderValue } from '@tributary/pg-source';

export type Op = 'c' | 'u' | 'd' | 't';

export interface ChangeContext {
  source: string;
  database: string;
  txId: number;
  /** LSN of the transaction's commit record: with `seq`, it names the change forever. */
  commitLsn: bigint;
  commitTimeMs: number;
  /** LSN of the WAL record of this change. */
  lsn: bigint;
  seq: number;
}

export interface RenderedChange {
  op: Op;
  /** JSON of the key columns in key order, or null for a table without a key (and for truncates). */
  key: string | null;
  envelope: string;
}

/**
 * Renders one change as the documented JSON envelope (docs/envelope.md), as text, so that exact
 * values (int8, numeric, json) are never round-tripped through JavaScript numbers.
 */
export function renderEnvelope(
  table: TableInfo,
  op: Op,
  before: RawValue[] | null,
  beforeIsKeyOnly: boolean,
  after: RawValue[] | null,
  ctx: ChangeContext,
): RenderedChange {
  const unchanged: string[] = [];
  const afterJson = after ? renderRow(table, after, unchanged, before && !beforeIsKeyOnly ? before : null) : 'null';
  const beforeJson = before ? renderRow(table, before, [], null, beforeIsKeyOnly ? table.keyIndexes : undefined) : 'null';
  const key = renderKey(table, op === 'd' ? before : after);
  const { relation } = table;
  const source =
    `{"name":${JSON.stringify(ctx.source)},"database":${JSON.stringify(ctx.database)},` +
    `"schema":${JSON.stringify(relation.schema)},"table":${JSON.stringify(relation.name)},` +
    `"lsn":"${formatLsn(ctx.lsn)}","commitLsn":"${formatLsn(ctx.commitLsn)}","seq":${ctx.seq},` +
    `"txId":${ctx.txId},"ts_ms":${ctx.commitTimeMs}}`;
  const id = `${ctx.source}:${formatLsn(ctx.commitLsn)}:${ctx.seq}`;
  const envelope =
    `{"id":"${id}","op":"${op}","key":${key ?? 'null'},"before":${beforeJson},"after":${afterJson},` +
    `"source":${source},"ts_ms":${Date.now()}` +
    (unchanged.length ? `,"unchanged_toast":${JSON.stringify(unchanged)}}` : '}');
  return { op, key, envelope };
}

export function renderTruncate(table: TableInfo, ctx: ChangeContext): RenderedChange {
  const change = renderEnvelope(table, 't', null, false, null, ctx);
  return { ...change, key: null };
}

/** The key as JSON (`{"id":1}`): also the partitioning key, so its text form must be stable. */
export function renderKey(table: TableInfo, row: RawValue[] | null): string | null {
  if (!row || table.keyIndexes.length === 0) return null;
  const parts: string[] = [];
  for (const i of table.keyIndexes) {
    const value = row[i];
    if (value === UNCHANGED_TOAST || value === undefined) return null;
    const column = table.relation.columns[i];
    parts.push(`${JSON.stringify(column.name)}:${value === null ? 'null' : renderValue(value, table.kinds[i])}`);
  }
  return `{${parts.join(',')}}`;
}

function renderRow(
  table: TableInfo,
  row: RawValue[],
  unchanged: string[],
  fallback: RawValue[] | null,
  onlyIndexes?: number[],
): string {
  const { columns } = table.relation;
  const parts: string[] = [];
  const indexes = onlyIndexes ?? columns.map((_, i) => i);
  for (const i of indexes) {
    let value = row[i];
    if (value === UNCHANGED_TOAST && fallback && fallback[i] !== UNCHANGED_TOAST) value = fallback[i];
    if (value === UNCHANGED_TOAST) {
      // Not sent because it did not change: say so, never pretend it is NULL.
      unchanged.push(columns[i].name);
      continue;
    }
    parts.push(`${JSON.stringify(columns[i].name)}:${value === null ? 'null' : renderValue(value, table.kinds[i])}`);
  }
  return `{${parts.join(',')}}`;
}
