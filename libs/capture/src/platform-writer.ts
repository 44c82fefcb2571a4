import type { Client } from 'pg';
import type { SourceConfig } from '@tributary/config';
import { type AppendRecord, PreparedAppend, type RowBatch, TopicLog } from '@tributary/topic-log';
import { CheckpointRepository } from './checkpoint.repository';

export interface PlatformWriterDeps {
  source: SourceConfig;
  /** The connection that holds this source's leadership lock; every platform write goes through it. */
  platform: Client;
  startLsn: bigint;
  /** A source transaction is being streamed: commits wait for its end. */
  inSourceTransaction: () => boolean;
  /** Runs `work` in order with the stream's message handlers (StreamIntake); its failure ends the session. */
  inStreamOrder: (work: () => Promise<void>) => void;
  /** Everything up to `lsn` is stored: the slot may be acknowledged with it. */
  stored: (lsn: bigint) => void;
  failure: () => Error | undefined;
  fail: (error: Error) => void;
}

interface PendingCommit {
  endLsn: bigint;
  xid: number;
  commitTimeMs: number;
}

/**
 * The platform writer: appends the routed messages to the topic tables inside a platform transaction that
 * stays open until the source transaction commits, then commits them together with the source checkpoint
 * (the commit's end LSN), and only then lets the slot be acknowledged with exactly that LSN. Platform work
 * runs in order behind a queue on the platform connection while capture goes on decoding and rendering;
 * capture waits only when the append before the one it queues has not finished, so at most two batches
 * are in memory. After any failure nothing more from the queue runs.
 */
export class PlatformWriter {
  /** Routed messages not yet queued for append. */
  buffer: AppendRecord[] = [];
  /** End LSN of the last source transaction committed to the platform. */
  checkpoint: bigint;
  messagesAppended = 0;
  private platformTxOpen = false;
  private batchStartedAt?: number;
  private pendingCommit?: PendingCommit;
  private commitTimer?: NodeJS.Timeout;
  /** A platform commit is queued and not yet done. */
  private committing = false;
  private platformQueue: Promise<void> = Promise.resolve();
  /** The append queued last: the next flush waits for it. */
  private lastAppend: Promise<void> = Promise.resolve();

  constructor(private readonly deps: PlatformWriterDeps) {
    this.checkpoint = deps.startLsn;
  }

  get inPlatformTransaction(): boolean {
    return this.platformTxOpen;
  }

  /** Nothing buffered, no platform transaction open and no commit waiting. */
  get idle(): boolean {
    return !this.platformTxOpen && !this.pendingCommit && this.buffer.length === 0;
  }

  /** A source transaction committed: its messages are committed when due, or, having none, it is acknowledged. */
  async sourceCommitted(endLsn: bigint, xid: number, commitTimeMs: number): Promise<void> {
    if (this.idle) {
      // Nothing of ours in it: no platform write needed, only the acknowledgement, behind any commit queued.
      void this.enqueue(() => this.deps.stored(endLsn));
      return;
    }
    this.pendingCommit = { endLsn, xid, commitTimeMs };
    this.batchStartedAt ??= Date.now();
    await this.commitWhenDue();
  }

  /**
   * Commits the finished source transactions once their batch is full or maxBatchDelayMs old, one
   * platform commit at a time: transactions that finish while a commit waits for its WAL flush join the
   * next one (group commit), so a busy source costs fewer flushes and a quiet one no more latency.
   */
  async commitWhenDue(): Promise<void> {
    if (!this.pendingCommit || this.deps.inSourceTransaction() || this.committing) return;
    const { batchSize, maxBatchDelayMs } = this.deps.source;
    const waited = Date.now() - (this.batchStartedAt ?? 0);
    if (this.buffer.length >= batchSize || waited >= maxBatchDelayMs) {
      await this.commit();
    } else if (!this.commitTimer) {
      this.commitTimer = setTimeout(() => {
        this.commitTimer = undefined;
        this.deps.inStreamOrder(() => this.commitWhenDue());
      }, maxBatchDelayMs - waited);
    }
  }

  /**
   * Queues the commit of the appended messages together with the checkpoint, then the slot's
   * acknowledgement of exactly that LSN; it does not wait for them, so the stream goes on meanwhile.
   */
  async commit(): Promise<void> {
    const pending = this.pendingCommit;
    if (!pending) return;
    await this.flush();
    this.openPlatformTx();
    this.platformTxOpen = false;
    this.pendingCommit = undefined;
    this.batchStartedAt = undefined;
    this.cancelCommitTimer();
    this.committing = true;
    void this.enqueue(async () => {
      const { platform, source } = this.deps;
      await CheckpointRepository.save(platform, source.name, pending.endLsn, pending.xid, pending.commitTimeMs);
      await platform.query('COMMIT');
      this.checkpoint = pending.endLsn;
      this.deps.stored(pending.endLsn);
      this.committing = false;
      // Transactions that finished meanwhile waited for this commit: theirs may be due now.
      if (this.pendingCommit) this.deps.inStreamOrder(() => this.commitWhenDue());
    });
  }

  cancelCommitTimer(): void {
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
  }

  /** Queues the append of the buffered messages; returns once the append queued before it has finished. */
  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const batch = new PreparedAppend(this.buffer);
    this.buffer = [];
    await this.queueAppend(() => TopicLog.appendPrepared(this.deps.platform, batch), batch.count);
  }

  /** Queues the append of snapshot rows behind the buffered messages, as `flush` queues those. */
  async appendRows(rows: RowBatch[]): Promise<void> {
    await this.flush();
    await this.queueAppend(
      () => TopicLog.appendRows(this.deps.platform, rows),
      rows.reduce((n, b) => n + b.count, 0),
    );
  }

  /**
   * Runs `work` on the platform connection after everything queued before it. The first failure ends the
   * session, and nothing queued after it runs, acknowledgements included.
   */
  enqueue(work: () => unknown): Promise<void> {
    const next = this.platformQueue.then(async () => {
      // After a failure the connection's transaction may be gone: nothing more may run on it.
      const failure = this.deps.failure();
      if (failure) throw failure;
      await work();
    });
    this.platformQueue = next;
    next.catch((e: Error) => this.deps.fail(e));
    return next;
  }

  /** Waits for all queued platform work: before reading from or writing to the platform directly. */
  async appended(): Promise<void> {
    await this.platformQueue;
  }

  /** Opens the platform transaction if none is open; resolves once everything queued, BEGIN included, ran. */
  async beginTransaction(): Promise<void> {
    this.openPlatformTx();
    await this.appended();
  }

  /** Queues an append in the platform transaction; returns once the append queued before it is done. */
  private async queueAppend(append: () => Promise<unknown>, messages: number): Promise<void> {
    this.openPlatformTx();
    const previous = this.lastAppend;
    this.lastAppend = this.enqueue(async () => {
      await append();
      this.messagesAppended += messages;
    });
    await previous;
  }

  /** Queues the opening of the platform transaction, if none is open. */
  private openPlatformTx(): void {
    if (this.platformTxOpen) return;
    this.platformTxOpen = true;
    this.batchStartedAt ??= Date.now();
    void this.enqueue(() => this.deps.platform.query('BEGIN'));
  }
}
