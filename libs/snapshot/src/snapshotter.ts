import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Client, type Pool } from 'pg';
import type { SourceConfig } from '@tributary/config';
import { TableSchemaRepository } from '@tributary/schema-registry';
import { quoteLiteral, TypeRegistry } from '@tributary/pg-source';
import { sleepUnlessAborted } from '@tributary/timing';
import { BackfillRepository } from './backfill.repository';
import { ACTIVE_STATUSES, type Backfill } from './backfill-types';
import type { ChunkExchange } from './chunk-exchange';
import { type ReadChunk, SNAPSHOT_SESSION_OPTIONS, SnapshotTable, SnapshotTableError } from './snapshot-table';
import { isQueryCanceled, StatementCanceller } from './statement-canceller';
import { encodeMark, WATERMARK_PREFIX, type WatermarkMark } from './watermark-marks';
import { UnsafeWhereError } from './filter-check';
import { explainRows, InvalidWhereError, isSqlError } from './where-validator';
import { XidSnapshot } from './xid-snapshot';

export const DEFAULT_CHUNK_SIZE = 50_000;
/**
 * Chunks read ahead of the capture session (each waits in memory for its high watermark), and the bytes
 * they may hold: a chunk of wide rows is read only once the ones before it are appended.
 */
const MAX_IN_FLIGHT = 4;
const MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
/**
 * A chunk holds at most `chunkSize` rows and about this many bytes: the row count is cut to fit the
 * average row of the chunk before (the first chunk, of unknown width, reads at most FIRST_CHUNK_ROWS),
 * and rows past it are let go (the next chunk reads them), so wider rows than expected cost a re-read,
 * never the memory.
 */
const MAX_CHUNK_BYTES = 32 * 1024 * 1024;
const FIRST_CHUNK_ROWS = 1_000;
const IDLE_POLL_MS = 1_000;
const PROGRESS_LOG_MS = 5_000;
const STATUS_CHECK_MS = 1_000;
const DEFAULT_STATEMENT_TIMEOUT_MS = 300_000;

export interface SnapshotterDeps {
  source: SourceConfig;
  pool: Pool;
  exchange: ChunkExchange;
  topicFor: (schema: string, table: string) => string;
}

/** Where a running backfill is, between its chunks. */
interface ChunkProgress {
  started: number;
  /** The key after which the next chunk reads. */
  lastKey: string[] | null;
  /** The last chunk read (its number). */
  chunk: number;
  /** Rows read in this run. */
  rows: number;
  /** Rows the next chunk may read (cut to the average row's width after the first). */
  limit: number;
  loggedAt: number;
  checkedAt: number;
  /** The low watermark of the next chunk is already in the WAL (written with the previous high one). */
  lowWritten: boolean;
}

/** A failure of one backfill (its table, its condition), as opposed to the source connection. */
class BackfillFailure extends Error {}
/** The backfill was cancelled while one of its statements ran, and that statement was cancelled. */
class BackfillCancelled extends Error {}

/**
 * Runs a source's backfills, one at a time, oldest first (a running one, resumed after a restart, before
 * any pending one), in the capture process that leads the source. For each chunk: a low watermark in the
 * source's WAL, the next rows by primary key read in a REPEATABLE READ snapshot that is recorded, the
 * chunk handed to the capture session, a high watermark. The session emits the rows when it reaches the
 * high watermark and records the progress there (see WatermarkHandler). A run lives as long as one
 * capture session; stop() ends it.
 */
export class Snapshotter {
  private readonly logger: Logger;
  private readonly repo: BackfillRepository;
  private readonly run = randomUUID();
  private readonly types = new TypeRegistry();
  private readonly finished: number[] = [];
  private client?: Client;
  private statement?: StatementCanceller;
  private stopped = false;
  private loop?: Promise<void>;
  private wake?: () => void;

  constructor(private readonly deps: SnapshotterDeps) {
    this.logger = new Logger(`Snapshot ${deps.source.name}`);
    this.repo = new BackfillRepository(deps.pool);
  }

  /** Starts the loop; `onFatal` is called if the source connection fails (the capture then restarts). */
  start(onFatal: (error: Error) => void): void {
    this.deps.exchange.open(this.run);
    this.loop ??= this.runLoop().catch((error: Error) => {
      if (!this.stopped) onFatal(new Error(`snapshot: ${error.message}`));
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.deps.exchange.close(this.run);
    // A statement still running would keep its backend, and its snapshot, after the connection ends.
    await this.statement?.cancel().catch((error: Error) => {
      this.logger.warn(`cancelling the running chunk read failed (it ends with its statement_timeout): ${error.message}`);
    });
    // The session is being dropped either way; an error ending it says nothing the cancel did not.
    await this.client?.end().catch(() => undefined);
    await this.loop;
  }

  private async runLoop(): Promise<void> {
    while (!this.stopped) {
      const backfill = await this.repo.next(this.deps.source.name, this.finished);
      if (!backfill) {
        await this.sleep(IDLE_POLL_MS);
        continue;
      }
      this.client ??= await this.connect();
      try {
        await this.runBackfill(backfill);
      } catch (error) {
        if (this.stopped) return;
        if (error instanceof BackfillCancelled) {
          this.logger.log(`backfill ${backfill.id} of ${backfill.schema}.${backfill.table} was cancelled: its statement stopped`);
          this.finished.push(backfill.id);
          continue;
        }
        if (!(error instanceof BackfillFailure)) throw error;
        this.logger.error(`backfill ${backfill.id} of ${backfill.schema}.${backfill.table} failed: ${error.message}`);
        await this.repo.fail(backfill.id, error.message);
      }
      this.finished.push(backfill.id);
    }
  }

  private async connect(): Promise<Client> {
    const { source } = this.deps;
    const client = new Client({
      connectionString: source.url,
      application_name: `tributary-snapshot:${source.name}`,
      // The server also ends a statement whose client went away (a crashed or killed process) within a second.
      options: `${SNAPSHOT_SESSION_OPTIONS} -c client_connection_check_interval=1000`,
      connectionTimeoutMillis: 10_000,
    });
    client.on('error', () => undefined); // surfaces through the next query
    await client.connect();
    this.statement = await StatementCanceller.of(client, source);
    return client;
  }

  private async runBackfill(b: Backfill): Promise<void> {
    const { table, estimate } = await this.prepare(b);
    if (!(await this.repo.start(b.id, this.run, estimate))) {
      return; // cancelled meanwhile
    }
    await this.saveSchema(table);
    const resumed = b.chunksDone > 0;
    this.logger.log(
      `backfill ${b.id} of ${b.schema}.${b.table}${b.where ? ` WHERE ${b.where}` : ''}: ${resumed ? `resuming after chunk ${b.chunksDone} (${b.rowsDone} rows)` : 'starting'}, ` +
        `~${estimate.toLocaleString('en-US')} rows, chunks of ${b.chunkSize}`,
    );
    const p: ChunkProgress = {
      started: Date.now(),
      lastKey: b.lastKey,
      chunk: b.chunksDone,
      rows: 0,
      loggedAt: Date.now(),
      checkedAt: 0,
      lowWritten: false,
      limit: Math.min(b.chunkSize, FIRST_CHUNK_ROWS),
    };
    for (;;) {
      if (this.stopped || !(await this.stillRunning(b, table, p))) return;
      await this.deps.exchange.waitBelow(MAX_IN_FLIGHT, MAX_IN_FLIGHT_BYTES, () => this.stopped);
      if (this.stopped) return;
      const { last, pause } = await this.nextChunk(b, table, p);
      if (last || Date.now() - p.loggedAt >= PROGRESS_LOG_MS) {
        p.loggedAt = Date.now();
        this.logProgress(b, p.chunk, p.rows, p.started, estimate, last);
      }
      if (last) return;
      if (pause > 0) await this.sleep(pause);
    }
  }

  /** Loads the table from the source, checks it is published and estimates the rows its condition selects. */
  private async prepare(b: Backfill): Promise<{ table: SnapshotTable; estimate: number }> {
    const client = this.client as Client;
    try {
      const table = await SnapshotTable.load(client, b.schema, b.table, this.types, this.deps.source.publication);
      if (!(await table.inPublication(client, this.deps.source.publication))) {
        throw new SnapshotTableError(`table ${b.schema}.${b.table} is not in publication ${this.deps.source.publication}`);
      }
      const estimate = await this.cancellable(b, () => explainRows(client, table, b.where, this.statementTimeoutMs));
      return { table, estimate };
    } catch (error) {
      if (this.statement?.cancelled && isQueryCanceled(error)) throw new BackfillCancelled();
      if (isQueryCanceled(error) || (error as { code?: string }).code === '55P03') {
        throw new BackfillFailure(`checking the condition: ${(error as Error).message} (longer than snapshotStatementTimeoutMs)`);
      }
      const invalid = error instanceof InvalidWhereError || error instanceof UnsafeWhereError;
      if (error instanceof SnapshotTableError || invalid || isSqlError(error)) {
        throw new BackfillFailure((error as Error).message);
      }
      throw error;
    }
  }

  /**
   * Whether the backfill is still running, checked at most every STATUS_CHECK_MS (a cancel is noticed
   * within a second; checking before every chunk would cost a round trip each). When it is not, the
   * window opened for the next chunk is closed.
   */
  private async stillRunning(b: Backfill, table: SnapshotTable, p: ChunkProgress): Promise<boolean> {
    if (Date.now() - p.checkedAt < STATUS_CHECK_MS) return true;
    p.checkedAt = Date.now();
    if ((await this.repo.status(b.id)) === 'running') return true;
    if (p.lowWritten) await this.emit(this.mark(b, table, p.chunk + 1, 'abort'));
    this.logger.log(`backfill ${b.id} of ${b.schema}.${b.table} is no longer running: stopped`);
    return false;
  }

  /**
   * Reads the next chunk between its watermarks and hands it to the capture session; `last` when the
   * table is done, `pause` the milliseconds to wait before the next (snapshotChunkDelayMs, snapshotMaxRowsPerSecond).
   */
  private async nextChunk(b: Backfill, table: SnapshotTable, p: ChunkProgress): Promise<{ last: boolean; pause: number }> {
    const { snapshotChunkDelayMs: delay = 0, snapshotMaxRowsPerSecond: maxRate } = this.deps.source;
    const chunk = ++p.chunk;
    if (!p.lowWritten) await this.emit(this.mark(b, table, chunk, 'low'));
    const limit = p.limit;
    const { read, snapshot } = await this.cancellable(b, () => this.readChunk(b, table, chunk, p.lastKey, limit));
    const last = !read.cut && read.rows.length < limit;
    if (read.rows.length) {
      p.limit = Math.max(1, Math.min(b.chunkSize, Math.floor(MAX_CHUNK_BYTES / table.averageRowBytes)));
    }
    this.deps.exchange.put({
      backfill: b.id,
      run: this.run,
      chunk,
      tableOid: table.oid,
      schema: b.schema,
      table: b.table,
      snapshot,
      shape: table.rowShape,
      keys: read.keys,
      hashes: read.hashes,
      rows: read.rows,
      endKey: read.endKey,
      last,
    });
    let pause = delay;
    if (maxRate) pause = Math.max(pause, ((p.rows + read.rows.length) / maxRate) * 1000 - (Date.now() - p.started));
    // The high watermark commits with the read (a transaction that writes nothing else), and the next
    // chunk's low one with it, unless a pause follows: an open window records every change of the table.
    p.lowWritten = !last && pause <= 0;
    const marks = [this.mark(b, table, chunk, 'high')];
    if (p.lowWritten) marks.push(this.mark(b, table, chunk + 1, 'low'));
    await this.commitWith(marks);
    p.rows += read.rows.length;
    p.lastKey = read.endKey;
    return { last, pause };
  }

  /**
   * Opens the chunk's REPEATABLE READ transaction, records its snapshot and reads the chunk in it; the
   * transaction stays open for the high watermark (commitWith). A failed read aborts the chunk's window.
   */
  private async readChunk(
    b: Backfill,
    table: SnapshotTable,
    chunk: number,
    after: string[] | null,
    limit: number,
  ): Promise<{ read: ReadChunk; snapshot: XidSnapshot }> {
    const client = this.client as Client;
    try {
      // One round trip: the transaction, its time limit, and its snapshot, which the chunk query then reads in.
      const timeout = this.statementTimeoutMs;
      const [, , snap] = (await client.query(
        `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = ${timeout}; ` +
          'SELECT pg_current_snapshot()::text AS s',
      )) as unknown as [unknown, unknown, { rows: { s: string }[] }];
      const snapshot = XidSnapshot.parse(snap.rows[0].s);
      return { read: await table.readChunk(client, after, limit, b.where, MAX_CHUNK_BYTES), snapshot };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (this.stopped) throw error;
      const cancelled = this.statement?.cancelled && isQueryCanceled(error);
      if (!cancelled && !isSqlError(error) && !isQueryCanceled(error)) throw error;
      await this.emit(this.mark(b, table, chunk, 'abort'));
      if (cancelled) throw new BackfillCancelled();
      const timedOut = isQueryCanceled(error) ? ` (longer than snapshotStatementTimeoutMs)` : '';
      throw new BackfillFailure(`reading chunk ${chunk}: ${(error as Error).message}${timedOut}`);
    }
  }

  private get statementTimeoutMs(): number {
    return Math.trunc(this.deps.source.snapshotStatementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS);
  }

  /** Runs `work` on the snapshot connection, cancelling its statement once the backfill is cancelled or the run stops. */
  private cancellable<T>(b: Backfill, work: () => Promise<T>): Promise<T> {
    const wanted = async () => {
      const status = await this.repo.status(b.id);
      return !this.stopped && status !== undefined && ACTIVE_STATUSES.includes(status);
    };
    return (this.statement as StatementCanceller).run(work, wanted, STATUS_CHECK_MS);
  }

  /** Writes the watermarks into the open chunk transaction and commits it, in one round trip. */
  private async commitWith(marks: WatermarkMark[]): Promise<void> {
    const emits = marks.map(
      (m) => `SELECT pg_logical_emit_message(true, ${quoteLiteral(WATERMARK_PREFIX)}, ${quoteLiteral(encodeMark(m))});`,
    );
    await (this.client as Client).query(`${emits.join(' ')} COMMIT`);
  }

  private logProgress(b: Backfill, chunk: number, rows: number, started: number, estimate: number, last: boolean): void {
    const name = `${b.schema}.${b.table}`;
    const done = b.rowsDone + rows;
    const rate = Math.round(rows / Math.max(0.001, (Date.now() - started) / 1000));
    const total = Math.max(estimate, done);
    this.logger.log(
      last
        ? `backfill ${b.id} of ${name}: all ${done.toLocaleString('en-US')} rows read in ${chunk} chunks (${rate.toLocaleString('en-US')} rows/s)`
        : `backfill ${b.id} of ${name}: ${done.toLocaleString('en-US')} / ~${total.toLocaleString('en-US')} rows ` +
            `(${Math.floor((done / Math.max(1, total)) * 100)}%), ${rate.toLocaleString('en-US')} rows/s, ` +
            `ETA ${rate ? Math.ceil((total - done) / rate) : '?'} s`,
    );
  }

  private mark(b: Backfill, table: SnapshotTable, chunk: number, mark: WatermarkMark['mark']): WatermarkMark {
    return { backfill: b.id, run: this.run, chunk, mark, table: table.oid };
  }

  private async emit(mark: WatermarkMark): Promise<void> {
    await (this.client as Client).query('SELECT pg_logical_emit_message(true, $1, $2)', [WATERMARK_PREFIX, encodeMark(mark)]);
  }

  /** Records the table's shape for sinks that create target tables, as the capture does for streamed tables. */
  private async saveSchema(table: SnapshotTable): Promise<void> {
    const platform = await this.deps.pool.connect();
    try {
      await TableSchemaRepository.save(platform, {
        source: this.deps.source.name,
        schema: table.schema,
        table: table.name,
        topic: this.deps.topicFor(table.schema, table.name),
        columns: table.columns.map((c, i) => ({ name: c.name, type: c.type, kind: table.kindName(i) })),
        primaryKey: table.keyColumns,
      });
    } finally {
      platform.release();
    }
  }

  private sleep(ms: number): Promise<void> {
    const woken = new AbortController();
    this.wake = () => woken.abort();
    return sleepUnlessAborted(ms, woken.signal);
  }
}
