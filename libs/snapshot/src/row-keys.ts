import { keyHash, KeyRenderer, murmur2, type RowBatchFormat } from '@tributary/topic-log';
import type { CopyRows } from './copy-rows';

/** How a key column's value is written into the key's JSON when its COPY text needs no decoding. */
const enum Fast {
  /** As it is (int2, int4, oid). */
  Bare,
  /** In quotes (int8, numeric, and text-like values without characters JSON would escape). */
  Quoted,
}

/**
 * The keys of a chunk's rows, as the capture renders them (`{"id":"1"}`), for their partitions and the
 * seam check. A key's hash (what its partition is taken from) is computed from the row's COPY bytes
 * without making a string, when the key's columns allow: integers, numerics and text that JSON writes
 * as it is. Other keys, and any value with an escape, take the general way (render, then hash).
 */
export class RowKeys {
  private readonly renderer: KeyRenderer;
  private readonly keyIndexes: number[];
  private readonly fast: (Fast | null)[];
  /** Every key column allows the byte path. */
  private readonly allFast: boolean;
  private readonly labels: Buffer[];
  private readonly fieldsNeeded: number;
  /** Where each key column's field starts and ends in the row being hashed, by column index. */
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private scratch = Buffer.allocUnsafe(256);

  constructor(shape: Pick<RowBatchFormat, 'columns' | 'keyIndexes'>) {
    this.renderer = new KeyRenderer(shape);
    this.keyIndexes = shape.keyIndexes;
    this.fast = shape.keyIndexes.map((i) => {
      const kind = shape.columns[i].kind.kind;
      return kind === 'number' ? Fast.Bare : kind === 'exact' || kind === 'string' ? Fast.Quoted : null;
    });
    this.allFast = !this.fast.includes(null);
    this.labels = shape.keyIndexes.map((i, k) => Buffer.from(`${k ? ',' : '{'}${JSON.stringify(shape.columns[i].name)}:`));
    this.fieldsNeeded = Math.max(...shape.keyIndexes) + 1;
    this.starts = new Int32Array(this.fieldsNeeded);
    this.ends = new Int32Array(this.fieldsNeeded);
  }

  /** The rendered key of row `i`. */
  text(rows: CopyRows, i: number): string {
    return this.renderer.render(rows.leadingFields(i, this.fieldsNeeded)) as string;
  }

  /** The key's hash of row `i`: `keyHash` of its rendered key. */
  hash(rows: CopyRows, i: number): number {
    return (this.allFast ? this.hashBytes(rows, i) : undefined) ?? keyHash(this.text(rows, i));
  }

  /** The hash from the row's bytes, or undefined when a key value needs decoding or escaping. */
  private hashBytes(rows: CopyRows, i: number): number | undefined {
    const data = rows.buffer;
    if (!rows.fieldBounds(i, this.fieldsNeeded, this.starts, this.ends)) return undefined;
    let length = 0;
    for (let k = 0; k < this.keyIndexes.length; k++) {
      const c = this.keyIndexes[k];
      const start = this.starts[c];
      const end = this.ends[c];
      const label = this.labels[k];
      const quoted = this.fast[k] === Fast.Quoted;
      if (length + label.length + (end - start) + 3 > this.scratch.length) {
        this.scratch = Buffer.allocUnsafe(2 * (length + label.length + (end - start) + 3));
        return undefined; // rare: a very long key, hashed the general way (the buffer is larger next time)
      }
      for (let b = 0; b < label.length; b++) this.scratch[length++] = label[b];
      if (quoted) this.scratch[length++] = 0x22;
      for (let b = start; b < end; b++) {
        const byte = data[b];
        // A backslash is a COPY escape (or \N); quotes and control characters JSON would escape.
        if (byte === 0x5c || (quoted && (byte === 0x22 || byte < 0x20))) return undefined;
        this.scratch[length++] = byte;
      }
      if (quoted) this.scratch[length++] = 0x22;
    }
    this.scratch[length++] = 0x7d; // }
    return murmur2(this.scratch, length) & 0x7fffffff;
  }
}
