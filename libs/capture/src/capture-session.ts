import { Logger } from '@nestjs/common';
import type { Client } from 'pg';
import { LogicalReplicationService } from 'pg-logical-replication';
import type { SourceConfig } from '@tributary/config';
import { TableSchemaRepository } from '@tributary/schema-registry';
import { WATERMARK_PREFIX, type WatermarkHandler } from '@tributary/snapshot';
import {
  AppendRecord,
  partitionForKey,
  PreparedAppend,
  type RowBatch,
  TopicLog,
  TopicRepository,
  TopicSettings,
} from '@tributary/topic-log';
import { CheckpointRepository } from './checkpoint.repository';
import { ChangeContext, envelopeParts, RenderedChange, renderEnvelope, renderKey, renderTruncate } from './envelope';
import { formatLsn, parseLsn } from '@tributary/topic-log';
import { RawPgoutputPlugin } from './pgoutput/raw-pgoutput.plugin';
import type { PgoutputMessage, Relation } from './pgoutput/pgoutput.types';
import { connectSource } from '@tributary/pg-source';
import type { TableInfo } from './table-info';
import { TypeRegistry } from '@tributary/pg-source';

export const HEARTBEAT_PREFIX = 'tributary.heartbeat';

/**
 * Messages waiting to be handled at which the replication stream pauses, and at which it resumes. The
 * socket's buffers hold what the server sends meanwhile; messages decoded early only outlive the garbage
 * collector's young generation (pausing at 1,000 instead of 100 cost 15 % of capture's throughput).
 */
const PAUSE_AT_QUEUED = 100;
const RESUME_AT_QUEUED = 10;

/** Session settings of the replication connection: they fix the text form of dates, intervals, floats. */
const OUTPUT_SETTINGS = '-c DateStyle=ISO -c IntervalStyle=iso_8601 -c TimeZone=UTC -c extra_float_digits=3 -c bytea_output=hex';

export interface SessionDeps {
  source: SourceConfig;
  /** The connection that holds this source's leadership lock; every platform write goes through it. */
  platform: Client;
  topicSettings: (topic: string) => TopicSettings;
  /** Route override for a table, if configured. */
  topicFor: (schema: string, table: string) => string;
  startLsn: bigint;
  /** Snapshot watermarks (libs/snapshot): sees every change, emits chunks at their high watermarks. */
  watermarks?: WatermarkHandler;
}

interface OpenTransaction {
  xid: number;
  finalLsn: bigint;
  /** finalLsn as `X/Y`, as every envelope of the transaction shows it. */
  commitLsn: string;
  commitTimeMs: number;
  seq: number;
  /** Already stored before a crash: its commit is at or before the checkpoint. */
  skip: boolean;
}

/**
 * One streaming session of one source: reads the slot, renders messages, and appends them to the topic
 * tables. A source transaction's messages and the source checkpoint commit in one platform transaction
 * (several small source transactions may share one), and only then is the slot acknowledged, with
 * exactly that commit's end LSN. Any error ends the session; the supervisor restarts from the checkpoint.
 */
export class CaptureSession {
  private readonly logger: Logger;
  private readonly service: LogicalReplicationService;
  private readonly plugin: RawPgoutputPlugin;
  /** The replication stream is paused: too many messages wait for their turn in `exclusive`. */
  private paused = false;
  private readonly types = new TypeRegistry();
  private readonly tables = new Map<number, TableInfo>();
  private readonly topicPartitions = new Map<string, number>();
  private readonly warned = new Set<string>();
  private sourceClient?: Client;
  private database = '';

  private tx?: OpenTransaction;
  private buffer: AppendRecord[] = [];
  private platformTxOpen = false;
  private batchStartedAt?: number;
  private pendingCommit?: { endLsn: bigint; xid: number; commitTimeMs: number };
  private checkpoint: bigint;
  private commitTimer?: NodeJS.Timeout;
  /** A platform commit is queued and not yet done. */
  private committing = false;
  private heartbeatTimer?: NodeJS.Timeout;
  private serial: Promise<unknown> = Promise.resolve();
  /** Handlers queued on `serial` and not finished. */
  private queued = 0;
  private platformQueue: Promise<void> = Promise.resolve();
  /** The append queued last: the next flush waits for it, so at most two batches are in memory. */
  private lastAppend: Promise<void> = Promise.resolve();
  private stopping = false;
  private failure?: Error;
  private settle?: { resolve: () => void; reject: (e: Error) => void };

  /** Highest LSN acknowledged to the source. */
  confirmedLsn: bigint;
  messagesAppended = 0;
  /** Epoch milliseconds: set for every message, so no Date object each time. */
  lastMessageAtMs?: number;

  constructor(private readonly deps: SessionDeps) {
    this.logger = new Logger(`Capture ${deps.source.name}`);
    this.checkpoint = deps.startLsn;
    this.confirmedLsn = deps.startLsn;
    this.service = new LogicalReplicationService(
      { connectionString: deps.source.url, application_name: `tributary-capture:${deps.source.name}`, options: OUTPUT_SETTINGS },
      // The library would acknowledge on receipt and on a timer; we acknowledge only what is stored.
      // Backpressure is ours (see `exclusive`): the library's awaits two promises per message.
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
    );
    this.plugin = new RawPgoutputPlugin({ protoVersion: 1, publicationNames: [deps.source.publication], messages: true });
  }

  /** Streams until stop() (resolves) or the first error (rejects). */
  async run(): Promise<void> {
    const { source } = this.deps;
    this.sourceClient = await connectSource(source, `tributary-capture-meta:${source.name}`);
    this.sourceClient.on('error', (e) => this.fail(e));
    this.database = (await this.sourceClient.query<{ db: string }>('SELECT current_database() AS db')).rows[0].db;

    const done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.service.on('data', (lsn: string, message: PgoutputMessage) => {
      // Most messages are row changes that need no I/O: handled at once, with no promise, when nothing
      // else is queued (ordering holds). Only a full buffer, and other kinds, take the queued path.
      if (this.queued === 0 && !this.failure) {
        try {
          if (this.handleNow(lsn, message)) return undefined;
        } catch (e) {
          this.fail(e as Error);
          return undefined;
        }
      }
      return this.exclusive(() => this.handle(lsn, message)).catch((e: Error) => this.fail(e));
    });
    this.service.on('heartbeat', (_lsn: string, _ts: number, shouldRespond: boolean) => {
      if (shouldRespond) this.acknowledge(this.confirmedLsn);
    });
    this.service.on('error', (e: Error) => this.fail(e));
    this.service.subscribe(this.plugin, source.slot, formatLsn(this.deps.startLsn)).then(
      () => this.fail(new Error('the replication stream ended')),
      (e: Error) => this.fail(e),
    );
    this.heartbeatTimer = setInterval(() => this.emitHeartbeat(), source.heartbeatIntervalMs);
    this.logger.log(`streaming slot ${source.slot} from ${formatLsn(this.deps.startLsn)}`);
    return done;
  }

  /** Graceful stop: commits finished source transactions still waiting for their platform commit. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.commitTimer);
    if (!this.failure) {
      // Not fatal: the slot was not acknowledged, so these transactions are streamed again on restart.
      await this.exclusive(async () => {
        if (!this.tx) await this.commitPlatform();
        await this.appended();
      }).catch((e: Error) =>
        this.logger.warn(`final commit at stop failed; the source will send those changes again: ${e.message}`),
      );
    }
    // Nothing queued may still be running when the caller ends the platform connection.
    await this.appended().catch(() => undefined);
    await this.service.destroy().catch(() => undefined);
    await this.sourceClient?.end().catch(() => undefined);
    this.settle?.resolve();
  }

  fail(error: Error): void {
    if (this.failure || this.stopping) return;
    this.failure = error;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.commitTimer);
    void this.service.destroy().catch(() => undefined);
    void this.sourceClient?.end().catch(() => undefined);
    this.settle?.reject(error);
  }

  private exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    // Messages arrive as fast as the socket delivers them; while they wait here the stream is paused,
    // so a slow platform holds back the server instead of filling memory.
    if (++this.queued >= PAUSE_AT_QUEUED && !this.paused) {
      this.paused = true;
      this.plugin.pause();
    }
    const next = this.serial
      .then(() => (this.failure ? (undefined as T) : fn()))
      .finally(() => {
        if (--this.queued <= RESUME_AT_QUEUED && this.paused) {
          this.paused = false;
          this.plugin.resume();
        }
      });
    this.serial = next.catch(() => undefined);
    return next;
  }

  /**
   * Handles a begin or a row change that does not fill the buffer, synchronously; false, having done
   * nothing, for anything else (it goes through `handle`).
   */
  private handleNow(lsnText: string, message: PgoutputMessage): boolean {
    if (message.tag === 'begin') {
      this.lastMessageAtMs = Date.now();
      this.begin(message);
      return true;
    }
    if (message.tag !== 'insert' && message.tag !== 'update' && message.tag !== 'delete') return false;
    if (this.buffer.length + 2 >= this.deps.source.batchSize) return false; // a key change pushes two
    this.lastMessageAtMs = Date.now();
    if (this.tx && !this.tx.skip) this.onChange(parseLsn(lsnText), lsnText, message);
    return true;
  }

  private begin(message: Extract<PgoutputMessage, { tag: 'begin' }>): void {
    this.tx = {
      xid: message.xid,
      finalLsn: message.finalLsn,
      commitLsn: formatLsn(message.finalLsn),
      commitTimeMs: message.commitTimeMs,
      seq: 0,
      skip: message.finalLsn < this.checkpoint,
    };
  }

  private async handle(lsnText: string, message: PgoutputMessage): Promise<void> {
    const walStart = parseLsn(lsnText);
    this.lastMessageAtMs = Date.now();
    switch (message.tag) {
      case 'begin':
        this.begin(message);
        return;
      case 'relation':
        return this.onRelation(message.relation);
      case 'insert':
      case 'update':
      case 'delete':
      case 'truncate':
        if (!this.tx || this.tx.skip) return;
        this.onChange(walStart, lsnText, message);
        if (this.buffer.length >= this.deps.source.batchSize) await this.flush();
        return;
      case 'commit':
        return this.onCommit(message.endLsn);
      case 'message':
        if (message.transactional && message.prefix === WATERMARK_PREFIX) {
          if (this.tx && !this.tx.skip && this.deps.watermarks) await this.onWatermark(walStart, message.content);
          return;
        }
        // A heartbeat outside any transaction: everything before it has been handled.
        if (!message.transactional && message.prefix === HEARTBEAT_PREFIX && this.idle()) {
          // Behind any commit still queued: never acknowledge past what is stored.
          void this.enqueue(() => this.acknowledge(message.lsn));
        }
        return;
      default:
        return;
    }
  }

  private async onRelation(relation: Relation): Promise<void> {
    await this.appended();
    const client = this.sourceClient as Client;
    await this.types.resolve(
      client,
      relation.columns.map((c) => c.typeOid),
    );
    const { rows } = await client.query<{ name: string }>(
      `SELECT a.attname AS name
         FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indrelid = $1 AND i.indisprimary
        ORDER BY array_position(i.indkey::int2[], a.attnum)`,
      [relation.oid],
    );
    let keyIndexes = rows.map((r) => relation.columns.findIndex((c) => c.name === r.name)).filter((i) => i >= 0);
    if (keyIndexes.length === 0 && relation.replicaIdentity === 'index') {
      keyIndexes = relation.columns.flatMap((c, i) => (c.isKey ? [i] : []));
    }
    const qualified = `${relation.schema}.${relation.name}`;
    if (keyIndexes.length === 0 && !this.warned.has(qualified)) {
      this.warned.add(qualified);
      this.logger.warn(
        `table ${qualified} has no primary key: its messages have no key and go to partition 0` +
          (relation.replicaIdentity === 'full'
            ? '.'
            : `; run ALTER TABLE ${qualified} REPLICA IDENTITY FULL so updates and deletes carry the old row.`),
      );
    }
    const topic = this.deps.topicFor(relation.schema, relation.name);
    const partitions = await this.ensureTopic(topic);
    await this.saveSchema(relation, topic, keyIndexes);
    this.tables.set(relation.oid, {
      relation,
      topic,
      partitions,
      keyIndexes,
      kinds: relation.columns.map((c) => this.types.kindOf(c.typeOid)),
      parts: envelopeParts(
        this.deps.source.name,
        this.database,
        relation.schema,
        relation.name,
        relation.columns.map((c) => c.name),
      ),
    });
  }

  /** Records the table's shape (types as format_type prints them) for sinks that create target tables. */
  private async saveSchema(relation: Relation, topic: string, keyIndexes: number[]): Promise<void> {
    const { rows } = await (this.sourceClient as Client).query<{ type: string }>(
      `SELECT format_type(t.oid, t.mod) AS type FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS t(oid, mod, n) ORDER BY n`,
      [relation.columns.map((c) => c.typeOid), relation.columns.map((c) => c.typeMod)],
    );
    await TableSchemaRepository.save(this.deps.platform, {
      source: this.deps.source.name,
      schema: relation.schema,
      table: relation.name,
      topic,
      columns: relation.columns.map((c, i) => ({ name: c.name, type: rows[i].type, kind: this.types.kindOf(c.typeOid).kind })),
      primaryKey: keyIndexes.map((i) => relation.columns[i].name),
    });
  }

  private async ensureTopic(topic: string): Promise<number> {
    const known = this.topicPartitions.get(topic);
    if (known !== undefined) return known;
    const partitions = await TopicRepository.ensure(this.deps.platform, topic, this.deps.topicSettings(topic));
    // Inside an open platform transaction the topic only exists once it commits; cache it only then.
    if (!this.platformTxOpen) this.topicPartitions.set(topic, partitions);
    return partitions;
  }

  private onChange(
    walStart: bigint,
    lsnText: string,
    message: Extract<PgoutputMessage, { tag: 'insert' | 'update' | 'delete' | 'truncate' }>,
  ): void {
    const tx = this.tx as OpenTransaction;
    const ctx = (): ChangeContext => ({
      txId: tx.xid,
      commitLsn: tx.commitLsn,
      commitTimeMs: tx.commitTimeMs,
      lsn: lsnText,
      seq: tx.seq++,
    });
    if (message.tag === 'truncate') {
      for (const oid of message.relationOids) {
        const table = this.table(oid);
        const change = renderTruncate(table, ctx());
        // A truncate concerns every key, so every partition gets it, in order with that partition's changes.
        for (let p = 0; p < table.partitions; p++) this.push(table, change, walStart, p);
      }
      return;
    }
    const table = this.table(message.relationOid);
    if (message.tag === 'insert') {
      this.push(table, renderEnvelope(table, 'c', null, false, message.newTuple, ctx()), walStart);
    } else if (message.tag === 'delete') {
      this.push(table, renderEnvelope(table, 'd', message.oldTuple, message.oldKind === 'K', null, ctx()), walStart);
    } else {
      const keyOnly = message.oldKind === 'K';
      const oldKey = message.oldTuple ? renderKey(table, message.oldTuple) : null;
      const newKey = renderKey(table, message.newTuple);
      if (oldKey !== null && newKey !== null && oldKey !== newKey) {
        // The key changed: like Debezium, a delete under the old key and a create under the new one,
        // so each key's partition sees its own history in order.
        this.push(table, renderEnvelope(table, 'd', message.oldTuple, keyOnly, null, ctx()), walStart);
        this.push(table, renderEnvelope(table, 'c', null, false, message.newTuple, ctx()), walStart);
      } else {
        this.push(table, renderEnvelope(table, 'u', message.oldTuple, keyOnly, message.newTuple, ctx()), walStart);
      }
    }
  }

  private push(table: TableInfo, change: RenderedChange, walStart: bigint, partition?: number): void {
    const tx = this.tx as OpenTransaction;
    this.deps.watermarks?.observe(table.relation.oid, change.key, tx.xid, change.op === 'u' ? change.unchanged : null);
    this.buffer.push({
      topic: table.topic,
      partition: partition ?? partitionForKey(change.key, table.partitions),
      key: change.key,
      envelope: change.envelope,
      sourceLsn: walStart,
      txId: String(tx.xid),
      commitTimeMs: tx.commitTimeMs,
    });
  }

  /** A snapshot chunk's rows are appended in its high watermark's transaction (docs/snapshots.md). */
  private async onWatermark(walStart: bigint, content: Buffer): Promise<void> {
    await this.appended();
    const tx = this.tx as OpenTransaction;
    const rows = await (this.deps.watermarks as WatermarkHandler).onMark(content, {
      platform: this.deps.platform,
      beginTransaction: () => this.beginPlatformTx(),
      topicFor: this.deps.topicFor,
      partitions: (topic) => this.ensureTopic(topic),
      source: this.deps.source.name,
      database: this.database,
      txId: tx.xid,
      commitLsn: tx.finalLsn,
      commitTimeMs: tx.commitTimeMs,
      lsn: walStart,
    });
    if (rows.length) await this.appendRows(rows);
  }

  /** Queues the append of snapshot rows behind the buffered messages, as `flush` queues those. */
  private async appendRows(rows: RowBatch[]): Promise<void> {
    await this.flush();
    await this.queueAppend(
      () => TopicLog.appendRows(this.deps.platform, rows),
      rows.reduce((n, b) => n + b.count, 0),
    );
  }

  private table(oid: number): TableInfo {
    const table = this.tables.get(oid);
    if (!table) throw new Error(`pgoutput: change for relation ${oid} before its relation message`);
    return table;
  }

  private async onCommit(endLsn: bigint): Promise<void> {
    const tx = this.tx;
    this.tx = undefined;
    if (!tx || tx.skip) return;
    if (this.buffer.length === 0 && !this.platformTxOpen && !this.pendingCommit) {
      // Nothing of ours in it: no platform write needed, only the acknowledgement, behind any commit queued.
      void this.enqueue(() => this.acknowledge(endLsn));
      return;
    }
    this.pendingCommit = { endLsn, xid: tx.xid, commitTimeMs: tx.commitTimeMs };
    this.batchStartedAt ??= Date.now();
    await this.commitWhenDue();
  }

  /**
   * Commits the finished source transactions once their batch is full or maxBatchDelayMs old, one
   * platform commit at a time: transactions that finish while a commit waits for its WAL flush join the
   * next one (group commit), so a busy source costs fewer flushes and a quiet one no more latency.
   */
  private async commitWhenDue(): Promise<void> {
    if (!this.pendingCommit || this.tx || this.committing) return;
    const waited = Date.now() - (this.batchStartedAt ?? 0);
    if (this.buffer.length >= this.deps.source.batchSize || waited >= this.deps.source.maxBatchDelayMs) {
      await this.commitPlatform();
    } else if (!this.commitTimer) {
      this.commitTimer = setTimeout(() => {
        this.commitTimer = undefined;
        this.exclusive(() => this.commitWhenDue()).catch((e: Error) => this.fail(e));
      }, this.deps.source.maxBatchDelayMs - waited);
    }
  }

  /**
   * Queues the buffered messages' append on the platform connection and returns once the append queued
   * before it has finished. Platform work runs in order behind a queue (`enqueue`) while capture goes on
   * decoding and rendering; waiting for the previous append bounds memory.
   */
  private async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const batch = new PreparedAppend(this.buffer);
    this.buffer = [];
    await this.queueAppend(() => TopicLog.appendPrepared(this.deps.platform, batch), batch.count);
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

  /**
   * Runs `work` on the platform connection after everything queued before it. The first failure ends the
   * session, and nothing queued after it runs, acknowledgements included.
   */
  private enqueue(work: () => unknown): Promise<void> {
    const next = this.platformQueue.then(async () => {
      // After a failure the connection's transaction may be gone: nothing more may run on it.
      if (this.failure) throw this.failure;
      await work();
    });
    this.platformQueue = next;
    next.catch((e: Error) => this.fail(e));
    return next;
  }

  /** Waits for all queued platform work: before reading from or writing to the platform directly. */
  private async appended(): Promise<void> {
    await this.platformQueue;
  }

  /** Queues the opening of the platform transaction, if none is open. */
  private openPlatformTx(): void {
    if (this.platformTxOpen) return;
    this.platformTxOpen = true;
    this.batchStartedAt ??= Date.now();
    void this.enqueue(() => this.deps.platform.query('BEGIN'));
  }

  /** Opens the platform transaction if none is open; resolves once everything queued, BEGIN included, ran. */
  private async beginPlatformTx(): Promise<void> {
    this.openPlatformTx();
    await this.appended();
  }

  /**
   * Queues the commit of the appended messages together with the checkpoint, then the slot's
   * acknowledgement of exactly that LSN; it does not wait for them, so the stream goes on meanwhile.
   */
  private async commitPlatform(): Promise<void> {
    const pending = this.pendingCommit;
    if (!pending) return;
    await this.flush();
    this.openPlatformTx();
    this.platformTxOpen = false;
    this.pendingCommit = undefined;
    this.batchStartedAt = undefined;
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    this.committing = true;
    void this.enqueue(async () => {
      const { platform, source } = this.deps;
      await CheckpointRepository.save(platform, source.name, pending.endLsn, pending.xid, pending.commitTimeMs);
      await platform.query('COMMIT');
      this.checkpoint = pending.endLsn;
      this.acknowledge(pending.endLsn);
      this.committing = false;
      // Transactions that finished meanwhile waited for this commit: theirs may be due now.
      if (this.pendingCommit) this.exclusive(() => this.commitWhenDue()).catch((e: Error) => this.fail(e));
    });
  }

  private idle(): boolean {
    return !this.tx && !this.platformTxOpen && !this.pendingCommit && this.buffer.length === 0;
  }

  /** Tells the server everything up to `lsn` is stored, so the slot may release WAL before it. */
  private acknowledge(lsn: bigint): void {
    if (lsn <= 0n) return;
    if (lsn > this.confirmedLsn) this.confirmedLsn = lsn;
    // The library reports "lsn + 1" as flushed; pass one less so the server gets exactly `lsn`. One
    // more would claim the first byte of the next record, and a transaction whose commit record starts
    // there would be skipped after a restart.
    void this.service.acknowledge(formatLsn(this.confirmedLsn - 1n)).catch((e: Error) => this.fail(e));
  }

  private emitHeartbeat(): void {
    // A tiny WAL record in the source database: its arrival proves everything before it was seen,
    // so the slot can move on even when the captured tables are idle but the database is busy.
    this.sourceClient
      ?.query(`SELECT pg_logical_emit_message(false, $1, '')`, [HEARTBEAT_PREFIX])
      .catch((e: Error) => this.fail(e));
  }
}
