import { renderValue, type ValueKind } from '@tributary/pg-source';

/**
 * Snapshot rows are stored as the source sent them: each row as one line of `COPY ... TO STDOUT` text
 * (tab-separated values, `\N` for NULL, backslash escapes), after its `seq` and a tab. Everything the
 * rows of one chunk share (the table, its columns' names and kinds, the watermark's transaction) is
 * stored once per batch, in its `row_format`. A reader renders the documented `r` envelope when it
 * reads a message, with the same value renderer capture uses, so a snapshot stores only about as many
 * bytes as COPY sends (a fifth of the envelopes') and spends no time rendering or parsing JSON.
 */
export interface RowBatchFormat {
  source: string;
  database: string;
  schema: string;
  table: string;
  columns: { name: string; kind: ValueKind }[];
  /** The key's columns, in key order (indexes into `columns`). */
  keyIndexes: number[];
  /** The backfill that read the rows. */
  backfill: number;
  /** The watermark's position and source transaction: the messages' `source` block. */
  lsn: string;
  commitLsn: string;
  txId: number;
  commitTimeMs: number;
  /** When the rows were emitted: the envelopes' `ts_ms`. */
  tsMs: number;
  /**
   * Columns of the table the rows leave out, listed in each envelope's `unchanged_toast` (`columns` is
   * then only the rest): a row's large values completing the changes of a chunk's window (see
   * libs/snapshot/src/toast-fill.ts). Absent for whole rows.
   */
  unchanged?: string[];
}

/** One stored snapshot row: its batch's format and its COPY fields (after the `seq`), still escaped. */
export interface SnapshotRow {
  format: RowBatchFormat;
  fields: string[];
}

/** The text of one COPY field: `\N` is NULL; backslash escapes are undone. */
export function copyField(text: string): string | null {
  if (text === '\\N') return null;
  if (text.indexOf('\\') < 0) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '\\' || i + 1 === text.length) {
      out += c;
      continue;
    }
    const e = text[++i];
    out += ESCAPES[e] ?? e;
  }
  return out;
}

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** Renders a row's key (`{"id":"1"}`) from its COPY fields, as capture renders keys. */
export class KeyRenderer {
  private readonly labels: string[];
  private readonly kinds: ValueKind[];

  constructor(private readonly shape: Pick<RowBatchFormat, 'columns' | 'keyIndexes'>) {
    this.labels = shape.keyIndexes.map((i, k) => `${k ? ',' : '{'}${JSON.stringify(shape.columns[i].name)}:`);
    this.kinds = shape.keyIndexes.map((i) => shape.columns[i].kind);
  }

  /** The key of a row's fields (indexed by column; the fields after the last key column may be missing). */
  render(fields: string[]): string | null {
    return this.join((column, kind) => {
      const v = copyField(fields[column]);
      return v === null ? 'null' : renderValue(v, kind);
    });
  }

  /** The key of a row whose values are already rendered as JSON (indexed by column). */
  fromRendered(values: string[]): string | null {
    return this.join((column) => values[column]);
  }

  private join(value: (column: number, kind: ValueKind) => string): string | null {
    const { keyIndexes } = this.shape;
    if (keyIndexes.length === 0) return null;
    let key = '';
    for (let k = 0; k < keyIndexes.length; k++) key += this.labels[k] + value(keyIndexes[k], this.kinds[k]);
    return key + '}';
  }
}

/** A batch's rendering state: the parts of every envelope that never change, built once per batch. */
export class RowBatchRenderer {
  private readonly labels: string[];
  private readonly idHead: string;
  private readonly sourceHead: string;
  private readonly sourceTail: string;
  private readonly tail: string;
  private readonly keys: KeyRenderer;

  constructor(private readonly format: RowBatchFormat) {
    this.keys = new KeyRenderer(format);
    const f = format;
    this.labels = f.columns.map((c, i) => `${i ? ',' : ''}${JSON.stringify(c.name)}:`);
    this.idHead = `{"id":${JSON.stringify(`${f.source}:${f.commitLsn}:`).slice(0, -1)}`;
    this.sourceHead =
      `,"source":{"name":${JSON.stringify(f.source)},"database":${JSON.stringify(f.database)},` +
      `"schema":${JSON.stringify(f.schema)},"table":${JSON.stringify(f.table)},"lsn":"${f.lsn}",` +
      `"commitLsn":"${f.commitLsn}","seq":`;
    this.sourceTail = `,"txId":${f.txId},"ts_ms":${f.commitTimeMs},"snapshot":true,"backfill":${f.backfill}}`;
    this.tail = `,"ts_ms":${f.tsMs}${f.unchanged?.length ? `,"unchanged_toast":${JSON.stringify(f.unchanged)}` : ''}}`;
  }

  /** The key and the envelope of one stored line (`seq`, a tab, the row's COPY text). */
  render(line: string): { key: string | null; envelope: string } {
    const fields = line.split('\t');
    const seq = fields[0];
    const values = fields.slice(1);
    const { columns } = this.format;
    if (values.length !== columns.length) {
      throw new Error(
        `snapshot row of ${this.format.schema}.${this.format.table}: ${values.length} values, ${columns.length} columns`,
      );
    }
    // Each value rendered once: the key's values are the row's.
    const rendered = new Array<string>(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = copyField(values[i]);
      rendered[i] = v === null ? 'null' : renderValue(v, columns[i].kind);
    }
    const key = this.keys.fromRendered(rendered);
    const out = [this.idHead, seq, '","op":"r","key":', key ?? 'null', ',"before":null,"after":{'];
    for (let i = 0; i < values.length; i++) out.push(this.labels[i], rendered[i]);
    out.push('}', this.sourceHead, seq, this.sourceTail, this.tail);
    return { key, envelope: out.join('') };
  }
}
