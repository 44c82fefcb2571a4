import { Logger } from '@nestjs/common';
import type { ClientBase } from 'pg';
import { formatLsn } from '@tributary/pg-source';
import { keyHash, type RowBatch } from '@tributary/topic-log';
import { BackfillRepository } from './backfill.repository';
import type { ChunkExchange, PreparedChunk } from './chunk-exchange';
import { linesByPartition } from './copy-rows';
import { ToastFills, toastBatches, type Unchanged } from './toast-fill';
import { parseMark } from './watermark-marks';

/** What the capture session lends the handler while it processes a watermark of a source transaction. */
export interface WatermarkContext {
  /** The session's platform connection; writes must follow beginTransaction() to join its transaction. */
  platform: ClientBase;
  beginTransaction(): Promise<void>;
  topicFor(schema: string, table: string): string;
  partitions(topic: string): Promise<number>;
  source: string;
  database: string;
  txId: number;
  commitLsn: bigint;
  commitTimeMs: number;
  /** LSN of the watermark message. */
  lsn: bigint;
}

interface Window {
  backfill: number;
  run: string;
  chunk: number;
  keys: (string | null)[];
  xids: number[];
  unchanged: Unchanged[];
}

/** What the changes a chunk's snapshot did not see say about its rows. */
interface Unseen {
  /** Keys changed: their rows are dropped. */
  stale: Set<string>;
  /** A truncate (or a change of unknown key): the whole chunk is dropped. */
  all: boolean;
  fills: ToastFills;
}

const DEFAULT_RING = 65_536;

/**
 * The capture session's side of snapshots (docs/snapshots.md). It sees every change the session
 * streams (observe) and every watermark (onMark). Between a chunk's low and high watermark it records
 * which keys of the chunk's table changed and in which source transaction; at the high watermark it
 * emits the chunk's rows as `r` messages except those that a streamed transaction the chunk's snapshot
 * did not see has changed (their latest state is already in the topic, and the chunk's would be older),
 * and of those rows the large values the changes left out (see toast-fill.ts).
 * A ring of the most recent changes of every table covers transactions that reached the WAL just before
 * the low watermark but were not yet visible when the chunk was read.
 */
export class WatermarkHandler {
  private readonly logger: Logger;
  private readonly windows = new Map<number, Window>();
  private readonly ringOid: Uint32Array;
  private readonly ringXid: Uint32Array;
  private readonly ringKey: (string | null)[];
  private readonly ringUnchanged: Unchanged[];
  private ringPos = 0;
  private ringLength = 0;

  constructor(
    source: string,
    private readonly exchange: ChunkExchange,
    private readonly ringSize = DEFAULT_RING,
  ) {
    this.logger = new Logger(`Snapshot ${source}`);
    this.ringOid = new Uint32Array(ringSize);
    this.ringXid = new Uint32Array(ringSize);
    this.ringKey = new Array<string | null>(ringSize).fill(null);
    this.ringUnchanged = new Array<Unchanged>(ringSize).fill(null);
  }

  /**
   * A streamed change of table `oid` (key null: a truncate, or a key that is not known); `unchanged`:
   * for an update, the columns it left out, else null.
   */
  observe(oid: number, key: string | null, xid: number, unchanged: Unchanged = null): void {
    const p = this.ringPos;
    this.ringOid[p] = oid;
    this.ringXid[p] = xid;
    this.ringKey[p] = key;
    this.ringUnchanged[p] = unchanged;
    this.ringPos = p + 1 === this.ringSize ? 0 : p + 1;
    if (this.ringLength < this.ringSize) this.ringLength++;
    if (this.windows.size === 0) return;
    const w = this.windows.get(oid);
    if (w) {
      w.keys.push(key);
      w.xids.push(xid);
      w.unchanged.push(unchanged);
    }
  }

  /** Handles a `tributary.watermark` message; returns the snapshot rows to append in its transaction. */
  async onMark(content: Buffer, ctx: WatermarkContext): Promise<RowBatch[]> {
    const mark = parseMark(content);
    // Marks of another run were written before a restart: that run's chunks are gone, its backfills
    // resume in a new run from their committed progress.
    if (!mark || !this.exchange.isCurrent(mark.run)) return [];
    if (mark.mark === 'low') {
      this.windows.set(mark.table, {
        backfill: mark.backfill,
        run: mark.run,
        chunk: mark.chunk,
        keys: [],
        xids: [],
        unchanged: [],
      });
      return [];
    }
    const window = this.windows.get(mark.table);
    const ours = window && window.backfill === mark.backfill && window.run === mark.run && window.chunk === mark.chunk;
    if (ours) this.windows.delete(mark.table);
    const chunk = this.exchange.take(mark.backfill, mark.run, mark.chunk);
    if (mark.mark === 'abort') return [];
    if (!chunk) throw new Error(`snapshot: high watermark of backfill ${mark.backfill} chunk ${mark.chunk} without its rows`);
    if (!ours || !window) {
      throw new Error(`snapshot: high watermark of backfill ${mark.backfill} chunk ${mark.chunk} without its low watermark`);
    }
    return this.emit(chunk, window, ctx);
  }

  /** The changes of the chunk's table, in its window and in the ring, that its snapshot did not see. */
  private unseen(chunk: PreparedChunk, window: Window): Unseen {
    const { snapshot } = chunk;
    const found: Unseen = { stale: new Set<string>(), all: false, fills: new ToastFills() };
    const note = (key: string | null, xid: number, unchanged: Unchanged) => {
      if (snapshot.sees(xid)) return;
      if (key === null) found.all = true;
      else {
        found.stale.add(key);
        found.fills.note(key, unchanged);
      }
    };
    for (let i = 0; i < window.keys.length; i++) note(window.keys[i], window.xids[i], window.unchanged[i]);
    for (let n = 0, p = this.ringPos; n < this.ringLength; n++) {
      p = p === 0 ? this.ringSize - 1 : p - 1;
      if (this.ringOid[p] === chunk.tableOid) note(this.ringKey[p], this.ringXid[p], this.ringUnchanged[p]);
    }
    return found;
  }

  /**
   * The chunk's `r` messages: the rows the unseen changes did not drop, then the large values of dropped
   * rows that those changes left out (toast-fill.ts). None if a truncate dropped the whole chunk.
   */
  private async rowBatches(chunk: PreparedChunk, unseen: Unseen, ctx: WatermarkContext): Promise<RowBatch[]> {
    const { stale, all, fills } = unseen;
    if (all) return [];
    const topic = ctx.topicFor(chunk.schema, chunk.table);
    const partitions = await ctx.partitions(topic);
    // What the chunk's `r` envelopes share (docs/envelope.md); readers render each from its line.
    const format = {
      source: ctx.source,
      database: ctx.database,
      schema: chunk.schema,
      table: chunk.table,
      ...chunk.shape,
      backfill: chunk.backfill,
      lsn: formatLsn(ctx.lsn),
      commitLsn: formatLsn(ctx.commitLsn),
      txId: ctx.txId,
      commitTimeMs: ctx.commitTimeMs,
      tsMs: Date.now(),
    };
    // A row is stale if its key is: compared by hash first, so most rows never render their key.
    const staleHashes = new Set([...stale].map(keyHash));
    const { rows, keys, hashes } = chunk;
    const filled: { row: number; columns: Set<string> }[] = [];
    const isStale = (i: number) => {
      if (staleHashes.size === 0 || !staleHashes.has(hashes[i])) return false;
      const key = keys.text(rows, i);
      if (!stale.has(key)) return false;
      const columns = fills.columns(key);
      if (columns) filled.push({ row: i, columns });
      return true;
    };
    const batches: RowBatch[] = [];
    let seq = 0;
    linesByPartition(rows, hashes, partitions, isStale).forEach((part, partition) => {
      seq += part.count;
      if (part.count) batches.push({ topic, partition, rows: part.lines, count: part.count, format });
    });
    // After the rows, in the same append (their `seq` goes on after the rows').
    return batches.concat(toastBatches(rows, hashes, filled, format, partitions, topic, seq));
  }

  /** The chunk's messages, with its progress recorded in the session's platform transaction; none if it is dropped. */
  private async emit(chunk: PreparedChunk, window: Window, ctx: WatermarkContext): Promise<RowBatch[]> {
    const batches = await this.rowBatches(chunk, this.unseen(chunk, window), ctx);
    const emitted = batches.reduce((n, b) => n + b.count, 0);
    await ctx.beginTransaction();
    return (await this.recordChunk(chunk, emitted, ctx)) ? batches : [];
  }

  /**
   * Records the chunk's progress; false if its backfill was cancelled or taken over by a newer run (the
   * chunk is dropped). A chunk out of order in its own run is a bug, and ends the session.
   */
  private async recordChunk(chunk: PreparedChunk, emitted: number, ctx: WatermarkContext): Promise<boolean> {
    const recorded = await BackfillRepository.chunkDone(ctx.platform, {
      id: chunk.backfill,
      runId: chunk.run,
      chunk: chunk.chunk,
      lastKey: chunk.endKey,
      rowsRead: chunk.rows.length,
      rowsEmitted: emitted,
      last: chunk.last,
    });
    if (recorded) return true;
    const b = await BackfillRepository.progress(ctx.platform, chunk.backfill);
    if (b && b.status === 'running' && b.runId === chunk.run) {
      throw new Error(`snapshot: backfill ${chunk.backfill} expected chunk ${b.chunksDone + 1}, got chunk ${chunk.chunk}`);
    }
    this.logger.log(`backfill ${chunk.backfill} is ${b?.status ?? 'gone'}: chunk ${chunk.chunk} dropped`);
    return false;
  }
}
