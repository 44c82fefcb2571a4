const EPOCH = 1n << 32n;
const HALF = 1n << 31n;

/**
 * An MVCC snapshot as `pg_current_snapshot()` prints it (`xmin:xmax:xip,...`, 64-bit xids), able to
 * say whether a transaction seen in the replication stream (32-bit xid) was visible to it.
 */
export class XidSnapshot {
  private constructor(
    readonly xmin: bigint,
    readonly xmax: bigint,
    private readonly xip: Set<bigint>,
    readonly text: string,
  ) {}

  static parse(text: string): XidSnapshot {
    const m = /^(\d+):(\d+):([\d,]*)$/.exec(text.trim());
    if (!m) throw new Error(`not a pg_snapshot: ${text}`);
    const xip = new Set(m[3] ? m[3].split(',').map((x) => BigInt(x)) : []);
    return new XidSnapshot(BigInt(m[1]), BigInt(m[2]), xip, text);
  }

  /** The 64-bit xid of a 32-bit one, taken in the epoch that puts it nearest to xmax. */
  full(xid32: number): bigint {
    let full = (this.xmax & ~(EPOCH - 1n)) | BigInt(xid32 >>> 0);
    if (full > this.xmax + HALF) full -= EPOCH;
    else if (full <= this.xmax - HALF) full += EPOCH;
    return full;
  }

  /** True if a committed transaction with this xid had committed (was visible) when the snapshot was taken. */
  sees(xid32: number): boolean {
    const x = this.full(xid32);
    if (x < this.xmin) return true;
    if (x >= this.xmax) return false;
    return !this.xip.has(x);
  }
}
