import type { RowBatchFormat } from '@tributary/topic-log';
import type { CopyRows } from './copy-rows';
import type { RowKeys } from './row-keys';
import type { XidSnapshot } from './xid-snapshot';

/** A chunk read by the snapshotter, waiting for the capture session to reach its high watermark. */
export interface PreparedChunk {
  backfill: number;
  run: string;
  chunk: number;
  tableOid: number;
  schema: string;
  table: string;
  /** The snapshot the rows were read in. */
  snapshot: XidSnapshot;
  /** The table's columns and key, as the rows' record batches describe them. */
  shape: Pick<RowBatchFormat, 'columns' | 'keyIndexes'>;
  /** The rows' COPY text in key order, their keys and their keys' hashes. */
  keys: RowKeys;
  hashes: Int32Array;
  rows: CopyRows;
  /** Text values of the last row's key, or null for an empty chunk. */
  endKey: string[] | null;
  /** No rows after this chunk: the backfill is done when it is. */
  last: boolean;
}

const key = (backfill: number, run: string, chunk: number) => `${backfill}/${run}/${chunk}`;

/**
 * Hands chunks from the snapshotter to the capture session of the same source in the same process.
 * A chunk is only ever valid for the run that read it (its watermarks carry the run), and a run lives
 * exactly as long as one capture session: after any restart, watermarks of older runs find nothing here
 * and are ignored, and the new run starts again after the last chunk whose progress was committed.
 */
export class ChunkExchange {
  private readonly runs = new Set<string>();
  private readonly chunks = new Map<string, PreparedChunk>();
  private waiters: (() => void)[] = [];

  open(run: string): void {
    this.runs.add(run);
  }

  close(run: string): void {
    this.runs.delete(run);
    for (const [k, c] of this.chunks) if (c.run === run) this.chunks.delete(k);
    this.wake();
  }

  isCurrent(run: string): boolean {
    return this.runs.has(run);
  }

  put(chunk: PreparedChunk): void {
    this.chunks.set(key(chunk.backfill, chunk.run, chunk.chunk), chunk);
  }

  take(backfill: number, run: string, chunk: number): PreparedChunk | undefined {
    const k = key(backfill, run, chunk);
    const found = this.chunks.get(k);
    this.chunks.delete(k);
    this.wake();
    return found;
  }

  get inFlight(): number {
    return this.chunks.size;
  }

  /** The bytes of the rows of the chunks waiting. */
  get bytesInFlight(): number {
    let bytes = 0;
    for (const c of this.chunks.values()) bytes += c.rows.bytes;
    return bytes;
  }

  /**
   * Resolves once fewer than `limit` chunks wait and, if any waits, they hold less than `maxBytes` (or
   * once `cancelled()` turns true, checked on every change).
   */
  async waitBelow(limit: number, maxBytes: number, cancelled: () => boolean): Promise<void> {
    while ((this.chunks.size >= limit || (this.chunks.size > 0 && this.bytesInFlight >= maxBytes)) && !cancelled()) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 250); // re-check cancellation now and then
      });
    }
  }

  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
