import type { RawValue } from './pgoutput/pgoutput-types';
import { UNCHANGED_TOAST } from './pgoutput/pgoutput-types';
import type { TableInfo } from './table-info';
import { renderValue } from '@tributary/pg-source';

export type Op = 'c' | 'u' | 'd' | 't';

export interface ChangeContext {
  txId: number;
  /** `X/Y` text of the transaction's commit LSN: with `seq`, it names the change forever. */
  commitLsn: string;
  commitTimeMs: number;
  /** `X/Y` text of the LSN of this change's WAL record. */
  lsn: string;
  seq: number;
}

export interface RenderedChange {
  op: Op;
  /** JSON of the key columns in key order, or null for a table without a key (and for truncates). */
  key: string | null;
  envelope: string;
  /** The columns listed in the envelope's `unchanged_toast` (the snapshot seam needs them, see WatermarkHandler). */
  unchanged: readonly string[];
}

const NONE: readonly string[] = [];

/** The parts of every envelope of a table that never change, rendered once per relation message. */
export interface EnvelopeParts {
  /** `"column":` for each column. */
  labels: string[];
  /** `,"column":` for each column. */
  nextLabels: string[];
  /** `{"id":"<source>:` */
  idHead: string;
  /** `,"source":{"name":…,"database":…,"schema":…,"table":…,"lsn":"` */
  sourceHead: string;
}

export function envelopeParts(source: string, database: string, schema: string, table: string, columns: string[]): EnvelopeParts {
  return {
    labels: columns.map((c) => `${JSON.stringify(c)}:`),
    nextLabels: columns.map((c) => `,${JSON.stringify(c)}:`),
    idHead: `{"id":"${source}:`,
    sourceHead:
      `,"source":{"name":${JSON.stringify(source)},"database":${JSON.stringify(database)},` +
      `"schema":${JSON.stringify(schema)},"table":${JSON.stringify(table)},"lsn":"`,
  };
}

/**
 * Renders one change as the documented JSON envelope (docs/envelope.md), as text, so that exact
 * values (int8, numeric, json) are never round-tripped through JavaScript numbers. This runs for every
 * captured row: what can be rendered once per table lives in `table.parts`.
 */
export function renderEnvelope(
  table: TableInfo,
  op: Op,
  before: RawValue[] | null,
  beforeIsKeyOnly: boolean,
  after: RawValue[] | null,
  ctx: ChangeContext,
): RenderedChange {
  const { idHead, sourceHead } = table.parts;
  const key = renderKey(table, op === 'd' ? before : after);
  // One array joined once makes one flat string; concatenating the pieces would leave a tree of small
  // strings per envelope for the garbage collector to trace until the batch is appended.
  const out = [idHead, ctx.commitLsn, ':', String(ctx.seq), '","op":"', op, '","key":', key ?? 'null', ',"before":'];
  if (before) renderRow(out, table, before, [], null, beforeIsKeyOnly ? table.keyIndexes : undefined);
  else out.push('null');
  out.push(',"after":');
  const unchanged: string[] = [];
  if (after) renderRow(out, table, after, unchanged, before && !beforeIsKeyOnly ? before : null);
  else out.push('null');
  out.push(
    sourceHead,
    ctx.lsn,
    '","commitLsn":"',
    ctx.commitLsn,
    '","seq":',
    String(ctx.seq),
    ',"txId":',
    String(ctx.txId),
    ',"ts_ms":',
    String(ctx.commitTimeMs),
    '},"ts_ms":',
    String(Date.now()),
    unchanged.length ? `,"unchanged_toast":${JSON.stringify(unchanged)}}` : '}',
  );
  return { op, key, envelope: out.join(''), unchanged: unchanged.length ? unchanged : NONE };
}

export function renderTruncate(table: TableInfo, ctx: ChangeContext): RenderedChange {
  const change = renderEnvelope(table, 't', null, false, null, ctx);
  return { ...change, key: null };
}

/**
 * A truncate of `schema.table` that no source TRUNCATE made: a resync's, written before the table's
 * re-snapshot so that sinks reload it (docs/operations.md). It needs no relation message.
 */
export function renderTableReset(source: string, database: string, schema: string, table: string, ctx: ChangeContext): string {
  const info: TableInfo = {
    relation: { oid: 0, schema, name: table, replicaIdentity: 'default', columns: [] },
    topic: '',
    partitions: 0,
    keyIndexes: [],
    kinds: [],
    parts: envelopeParts(source, database, schema, table, []),
  };
  return renderTruncate(info, ctx).envelope;
}

/** The key as JSON (`{"id":1}`): also the partitioning key, so its text form must be stable. */
export function renderKey(table: TableInfo, row: RawValue[] | null): string | null {
  if (!row || table.keyIndexes.length === 0) return null;
  const { labels } = table.parts;
  let out = '{';
  for (let j = 0; j < table.keyIndexes.length; j++) {
    const i = table.keyIndexes[j];
    const value = row[i];
    if (value === UNCHANGED_TOAST || value === undefined) return null;
    out += `${j ? ',' : ''}${labels[i]}${value === null ? 'null' : renderValue(value, table.kinds[i])}`;
  }
  return `${out}}`;
}

function renderRow(
  out: string[],
  table: TableInfo,
  row: RawValue[],
  unchanged: string[],
  fallback: RawValue[] | null,
  onlyIndexes?: number[],
): void {
  const { labels, nextLabels } = table.parts;
  const count = onlyIndexes ? onlyIndexes.length : labels.length;
  let first = true;
  out.push('{');
  for (let j = 0; j < count; j++) {
    const i = onlyIndexes ? onlyIndexes[j] : j;
    let value = row[i];
    if (value === UNCHANGED_TOAST && fallback && fallback[i] !== UNCHANGED_TOAST) value = fallback[i];
    if (value === UNCHANGED_TOAST) {
      // Not sent because it did not change: say so, never pretend it is NULL.
      unchanged.push(table.relation.columns[i].name);
      continue;
    }
    out.push(first ? labels[i] : nextLabels[i], value === null ? 'null' : renderValue(value, table.kinds[i]));
    first = false;
  }
  out.push('}');
}
