/**
 * Reading record batches (tributary.message_batches) in the application rather than unnesting them in
 * SQL: the server only sends the stored text, and splitting it here is a single pass over the
 * characters, several times cheaper than json_array_elements parsing every element into a row.
 */
import { parseLsn } from '@tributary/pg-source';
import { KeyRenderer, type RowBatchFormat, RowBatchRenderer, type SnapshotRow } from './row-batch';

/** The columns `unpackBatches` needs, for a query over `tributary.message_batches b`. */
export const BATCH_COLUMNS = `b.topic, b.partition, b.base_offset, b.envelopes, b.keys,
  b.rows, b.row_format::text AS row_format, b.appended_at`;

/**
 * BATCH_COLUMNS with the messages' source LSNs, transaction ids and commit times, which consumers do not
 * need: parsing three bigint arrays per batch costs about as much as the envelopes.
 */
export const BATCH_COLUMNS_WITH_SOURCE = `${BATCH_COLUMNS}, b.source_lsns, b.tx_ids, b.commit_times`;

/** One message of a batch. */
export interface BatchMessage {
  topic: string;
  partition: number;
  offset: bigint;
  key: string | null;
  envelope: string;
  /** bigint as text, or null (also when not selected: BATCH_COLUMNS_WITH_SOURCE). */
  sourceLsn: string | null;
  txId: string | null;
  commitTimeMs: number | null;
  appendedAt: Date;
  /** A snapshot row's fields as stored: its envelope is rendered only when read (see lazyEnvelope). */
  snapshotRow?: SnapshotRow;
}

interface BatchRow {
  topic: string;
  partition: number;
  base_offset: string;
  /** A batch holds either envelopes and keys (JSON arrays) or snapshot rows and their format. */
  envelopes: string | null;
  keys: string | null;
  rows: string | null;
  row_format: string | null;
  source_lsns?: (string | null)[];
  tx_ids?: (string | null)[];
  commit_times?: (string | null)[];
  appended_at: Date;
}

/** The messages of batch rows (selected with BATCH_COLUMNS) whose offsets `keep` accepts, in row order. */
export function unpackBatches(rows: Record<string, unknown>[], keep: (offset: bigint) => boolean): BatchMessage[] {
  const out: BatchMessage[] = [];
  for (const row of rows as unknown as BatchRow[]) {
    if (row.rows !== null) {
      unpackRowBatch(row, keep, out);
      continue;
    }
    const envelopes = splitJsonArray(row.envelopes as string);
    const keys = JSON.parse(row.keys as string) as (string | null)[];
    if (keys.length !== envelopes.length) {
      throw new Error(
        `record batch ${row.topic}[${row.partition}]@${row.base_offset}: ${envelopes.length} envelopes, ${keys.length} keys`,
      );
    }
    const base = BigInt(row.base_offset);
    for (let i = 0; i < envelopes.length; i++) {
      const offset = base + BigInt(i);
      if (!keep(offset)) continue;
      const commitTime = row.commit_times?.[i] ?? null;
      out.push({
        topic: row.topic,
        partition: row.partition,
        offset,
        key: keys[i],
        envelope: envelopes[i],
        sourceLsn: row.source_lsns?.[i] ?? null,
        txId: row.tx_ids?.[i] ?? null,
        commitTimeMs: commitTime === null ? null : Number(commitTime),
        appendedAt: row.appended_at,
      });
    }
  }
  return out;
}

/**
 * A batch of snapshot rows: each kept row's key is rendered at once, its envelope only when read, so a
 * reader that takes the row's fields as they are (a database sink) spends nothing on JSON.
 */
function unpackRowBatch(row: BatchRow, keep: (offset: bigint) => boolean, out: BatchMessage[]): void {
  const format = JSON.parse(row.row_format as string) as RowBatchFormat;
  const keys = new KeyRenderer(format);
  let renderer: RowBatchRenderer | undefined;
  const lines = (row.rows as string).split('\n');
  const sourceLsn = String(parseLsn(format.lsn));
  const txId = String(format.txId);
  const base = BigInt(row.base_offset);
  for (let i = 0; i < lines.length; i++) {
    const offset = base + BigInt(i);
    if (!keep(offset)) continue;
    const line = lines[i];
    const fields = line.slice(line.indexOf('\t') + 1).split('\t');
    if (fields.length !== format.columns.length) {
      throw new Error(
        `snapshot row of ${format.schema}.${format.table}: ${fields.length} values, ${format.columns.length} columns`,
      );
    }
    const message = {
      topic: row.topic,
      partition: row.partition,
      offset,
      key: keys.render(fields),
      sourceLsn,
      txId,
      commitTimeMs: format.commitTimeMs,
      appendedAt: row.appended_at,
      snapshotRow: { format, fields },
    };
    out.push(lazyEnvelope(message, () => (renderer ??= new RowBatchRenderer(format)).render(line).envelope));
  }
}

/**
 * `message` with an `envelope` rendered the first time it is read, then kept. An own enumerable
 * property: spreading the message or reading it twice gives the same text, rendered once.
 */
export function lazyEnvelope<T extends object>(message: T, render: () => string): T & { envelope: string } {
  let text: string | undefined;
  return Object.defineProperty(message, 'envelope', { enumerable: true, get: () => (text ??= render()) }) as T & {
    envelope: string;
  };
}

/**
 * The exact text of each element of a JSON array's text (valid JSON, as capture renders it):
 * strings are skipped over with their escapes, and only commas at the array's own level split.
 */
export function splitJsonArray(text: string): string[] {
  const elements: string[] = [];
  let depth = 0;
  let start = -1;
  let end = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      if (depth === 1 && start < 0) start = i;
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x5c /* \ */) i++;
        else if (s === 0x22) break;
      }
      end = i + 1;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (depth === 1 && start < 0) start = i;
      depth++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
      if (depth === 0) {
        if (start >= 0) elements.push(text.slice(start, end));
        return elements;
      }
      end = i + 1;
    } else if (c === 0x2c /* , */ && depth === 1) {
      elements.push(text.slice(start, end));
      start = -1;
    } else if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
      // A scalar (number, true, false, null), one character at a time.
      if (depth === 1 && start < 0) start = i;
      end = i + 1;
    }
  }
  throw new Error('not a complete JSON array');
}
