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
