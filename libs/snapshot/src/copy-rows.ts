/**
 * The rows of one `COPY ... TO STDOUT` (text format) as the server sent them, in one growing buffer:
 * no string per row for the garbage collector to trace while a chunk waits for its high watermark.
 * Row i is `data[starts[i] .. ends[i])` and its newline.
 */
export class CopyRows {
  private data: Buffer;
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private used = 0;

  /**
   * `capacity`: the bytes to allocate at once, best the rows' and their partition lines' (see
   * linesByPartition): one allocation per chunk rather than a few, each of which the garbage collector
   * counts against the heap.
   */
  constructor(capacity = 1 << 20) {
    this.data = Buffer.allocUnsafe(capacity);
  }

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
    this.reserve(message.length);
    // TypedArray#set of a whole array: one native copy, no view allocated per row (Buffer#copy makes one).
    this.data.set(message, this.used);
    this.starts.push(this.used);
    this.used += message.length;
    this.ends.push(this.used - 1);
  }

  /** Makes room for `extra` more bytes after the rows. */
  reserve(extra: number): void {
    if (this.used + extra <= this.data.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.data.length * 2, this.used + extra));
    grown.set(this.data.subarray(0, this.used));
    this.data = grown;
  }

  /** The rows' bytes (valid up to `bytes`; what follows is room `reserve` made). */
  get buffer(): Buffer {
    return this.data;
  }

  /**
   * Where the first `n` fields of row `i` start and end, into `starts` and `ends`; false if the row has
   * fewer fields.
   */
  fieldBounds(i: number, n: number, starts: Int32Array, ends: Int32Array): boolean {
    const end = this.ends[i];
    let start = this.starts[i];
    for (let f = 0; f < n; f++) {
      const tab = this.tabOrEnd(start, end);
      starts[f] = start;
      ends[f] = tab;
      if (tab === end && f < n - 1) return false;
      start = tab + 1;
    }
    return true;
  }

  /** The first tab from `start` on, or `end`: searched only within the row (a row may hold no tab at all). */
  private tabOrEnd(start: number, end: number): number {
    const data = this.data;
    for (let b = start; b < end; b++) if (data[b] === 0x09) return b;
    return end;
  }

  /** The byte length of row `i` with its newline. */
  size(i: number): number {
    return this.ends[i] + 1 - this.starts[i];
  }

  /** Where row `i` starts in `buffer`. */
  start(i: number): number {
    return this.starts[i];
  }

  /** The first `n` tab-separated fields of row `i`, as the COPY text (still escaped). */
  leadingFields(i: number, n: number): string[] {
    const fields: string[] = [];
    const end = this.ends[i];
    let start = this.starts[i];
    for (let f = 0; f < n; f++) {
      const tab = this.tabOrEnd(start, end);
      fields.push(this.data.toString('utf8', start, tab));
      if (tab === end) break;
      start = tab + 1;
    }
    return fields;
  }
}

/**
 * A chunk's rows split by partition, as record batches of snapshot rows store them: for each partition,
 * its rows in key order as lines of `seq`, a tab and the row's COPY text, joined by newlines. A row's
 * partition is its key's hash modulo `partitions`; `seq` is its position among the rows kept (those
 * `skip` does not reject), in key order.
 */
export function linesByPartition(
  rows: CopyRows,
  hashes: Int32Array,
  partitions: number,
  skip: (row: number) => boolean,
): { lines: Buffer; count: number }[] {
  // Two passes: each row's partition and the partitions' sizes, then the lines, written after the rows in
  // their buffer, so each row is moved by copyWithin: a native copy that, unlike Buffer#copy, allocates
  // nothing.
  const n = rows.length;
  const partitionOf = new Int32Array(n);
  const sizes = new Array<number>(partitions).fill(0);
  const counts = new Array<number>(partitions).fill(0);
  let seq = 0;
  for (let i = 0; i < n; i++) {
    if (skip(i)) {
      partitionOf[i] = -1;
      continue;
    }
    const p = (partitionOf[i] = hashes[i] % partitions);
    sizes[p] += digits(seq++) + 1 + rows.size(i);
    counts[p]++;
  }
  rows.reserve(sizes.reduce((a, b) => a + b, 0));
  const all = rows.buffer;
  const starts: number[] = [];
  for (let p = 0, at = rows.bytes; p < partitions; at += sizes[p++]) starts.push(at);
  const used = [...starts];
  seq = 0;
  for (let i = 0; i < n; i++) {
    const p = partitionOf[i];
    if (p < 0) continue;
    const at = writeDigits(all, used[p], seq++);
    all[at] = 0x09; // tab
    const start = rows.start(i);
    const size = rows.size(i);
    all.copyWithin(at + 1, start, start + size);
    used[p] = at + 1 + size;
  }
  // Without the last line's newline.
  return starts.map((start, p) => ({ lines: all.subarray(start, Math.max(start, used[p] - 1)), count: counts[p] }));
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
