import { partitionForKey } from '@tributary/topic-log';

/**
 * The rows of one `COPY ... TO STDOUT` (text format) as the server sent them, in one growing buffer:
 * no string per row for the garbage collector to trace while a chunk waits for its high watermark.
 * Row i is `data[starts[i] .. ends[i])` and its newline.
 */
export class CopyRows {
  private data = Buffer.allocUnsafe(1 << 20);
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private used = 0;

  get length(): number {
    return this.starts.length;
  }

  /** The bytes held (the rows and their newlines). */
  get bytes(): number {
    return this.used;
  }

  /** Appends one CopyData message (one row and its newline); copies it, as the driver reuses its buffer. */
  push(message: Buffer): void {
    if (message[message.length - 1] !== 0x0a) throw new Error('COPY sent a row without its newline');
    if (this.used + message.length > this.data.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.data.length * 2, this.used + message.length));
      grown.set(this.data.subarray(0, this.used));
      this.data = grown;
    }
    // TypedArray#set of a whole array: one native copy, no view allocated per row (Buffer#copy makes one).
    this.data.set(message, this.used);
    this.starts.push(this.used);
    this.used += message.length;
    this.ends.push(this.used - 1);
  }

  /** The byte length of row `i` with its newline. */
  size(i: number): number {
    return this.ends[i] + 1 - this.starts[i];
  }

  /** Copies row `i` and its newline into `target` at `offset`; returns the offset after it. */
  copyRow(i: number, target: Buffer, offset: number): number {
    return offset + this.data.copy(target, offset, this.starts[i], this.ends[i] + 1);
  }

  /** The first `n` tab-separated fields of row `i`, as the COPY text (still escaped). */
  leadingFields(i: number, n: number): string[] {
    const fields: string[] = [];
    const end = this.ends[i];
    let start = this.starts[i];
    for (let f = 0; f < n; f++) {
      let tab = this.data.indexOf(0x09, start);
      if (tab < 0 || tab > end) tab = end;
      fields.push(this.data.toString('utf8', start, tab));
      if (tab === end) break;
      start = tab + 1;
    }
    return fields;
  }
}

/**
 * A chunk's rows split by partition, as record batches of snapshot rows store them: for each partition,
 * its rows in key order as lines of `seq`, a tab and the row's COPY text, joined by newlines. `seq` is a
 * row's position among all the rows kept (those `skip` does not reject), in key order.
 */
export function linesByPartition(
  rows: CopyRows,
  keys: string[],
  partitions: number,
  skip: (key: string) => boolean,
): { lines: Buffer; count: number }[] {
  // Two passes: each row's partition and the partitions' sizes, then one buffer per partition.
  const partitionOf = new Int32Array(keys.length);
  const sizes = new Array<number>(partitions).fill(0);
  const counts = new Array<number>(partitions).fill(0);
  let seq = 0;
  for (let i = 0; i < keys.length; i++) {
    if (skip(keys[i])) {
      partitionOf[i] = -1;
      continue;
    }
    const p = (partitionOf[i] = partitionForKey(keys[i], partitions));
    sizes[p] += digits(seq++) + 1 + rows.size(i);
    counts[p]++;
  }
  const buffers = sizes.map((size) => Buffer.allocUnsafe(size));
  const used = new Array<number>(partitions).fill(0);
  seq = 0;
  for (let i = 0; i < keys.length; i++) {
    const p = partitionOf[i];
    if (p < 0) continue;
    const b = buffers[p];
    const at = writeDigits(b, used[p], seq++);
    b[at] = 0x09; // tab
    used[p] = rows.copyRow(i, b, at + 1);
  }
  // Without the last line's newline.
  return buffers.map((b, p) => ({ lines: b.subarray(0, Math.max(0, used[p] - 1)), count: counts[p] }));
}

function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** Writes the decimal digits of `n` (a non-negative integer) at `at`; returns the offset after them. */
function writeDigits(b: Buffer, at: number, n: number): number {
  const end = at + digits(n);
  for (let i = end - 1; i >= at; i--) {
    b[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return end;
}
