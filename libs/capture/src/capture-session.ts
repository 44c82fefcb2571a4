import { Logger } from '@nestjs/common';
import type { Client } from 'pg';
import { LogicalReplicationService } from 'pg-logical-replication';
import type { SourceConfig } from '@tributary/config';
import { connectSource, formatLsn, parseLsn } from '@tributary/pg-source';
import { WATERMARK_PREFIX, type WatermarkHandler } from '@tributary/snapshot';
import type { TopicSettings } from '@tributary/topic-log';
import { ChangeRouter, type OpenTransaction, openTransaction } from './change-router';
import { PlatformWriter } from './platform-writer';
import { RawPgoutputPlugin } from './pgoutput/raw-pgoutput.plugin';
import type { PgoutputMessage } from './pgoutput/pgoutput.types';
import { RelationRegistry, type SourceMetadata } from './relation-registry';
import { HEARTBEAT_PREFIX, SlotAcknowledger } from './slot-acknowledger';
import { StreamIntake } from './stream-intake';

export { HEARTBEAT_PREFIX } from './slot-acknowledger';

/** Session settings of the replication connection: they fix the text form of dates, intervals, floats. */
const OUTPUT_SETTINGS = '-c DateStyle=ISO -c IntervalStyle=iso_8601 -c TimeZone=UTC -c extra_float_digits=3 -c bytea_output=hex';

export interface SessionDeps {
  source: SourceConfig;
  /** The connection that holds this source's leadership lock; every platform write goes through it. */
  platform: Client;
  topicSettings: (topic: string) => TopicSettings;
  /** Route override for a table, if configured. */
  topicFor: (schema: string, table: string) => string;
  /** Is a table of this name among the source's tables? Changes to other published tables are left out. */
  isCaptured: (schema: string, table: string) => boolean;
  startLsn: bigint;
  /** Snapshot watermarks (libs/snapshot): sees every change, emits chunks at their high watermarks. */
  watermarks?: WatermarkHandler;
}

/**
 * One streaming session of one source: reads the slot, renders messages, and appends them to the topic
 * tables. A source transaction's messages and the source checkpoint commit in one platform transaction
 * (several small source transactions may share one), and only then is the slot acknowledged, with
 * exactly that commit's end LSN. Any error ends the session; the supervisor restarts from the checkpoint.
 *
 * The session dispatches each message to its parts: the stream intake (order and back-pressure), the
 * relation registry, the change router (pure), the platform writer (appends, group commit) and the slot
 * acknowledger (acknowledgements, heartbeats).
 */
export class CaptureSession {
  private readonly logger: Logger;
  private readonly service: LogicalReplicationService;
  private readonly plugin: RawPgoutputPlugin;
  private readonly intake: StreamIntake;
  private readonly relations: RelationRegistry;
  private readonly router: ChangeRouter;
  private readonly writer: PlatformWriter;
  private readonly slot: SlotAcknowledger;
  private sourceMeta?: SourceMetadata;
  private tx?: OpenTransaction;
  private stopping = false;
  private failure?: Error;
  private settle?: { resolve: () => void; reject: (e: Error) => void };

  /** Epoch milliseconds: set for every message, so no Date object each time. */
  lastMessageAtMs?: number;

  constructor(private readonly deps: SessionDeps) {
    const { source } = deps;
    this.logger = new Logger(`Capture ${source.name}`);
    this.service = new LogicalReplicationService(
      { connectionString: source.url, application_name: `tributary-capture:${source.name}`, options: OUTPUT_SETTINGS },
      // The library would acknowledge on receipt and on a timer; we acknowledge only what is stored.
      // Backpressure is ours (StreamIntake): the library's awaits two promises per message.
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
    );
    this.plugin = new RawPgoutputPlugin({ protoVersion: 1, publicationNames: [source.publication], messages: true });
    const fail = (e: Error): void => this.fail(e);
    this.intake = new StreamIntake(this.plugin, () => this.failure !== undefined);
    this.slot = new SlotAcknowledger(this.service, deps.startLsn, fail);
    this.writer = new PlatformWriter({
      source,
      platform: deps.platform,
      startLsn: deps.startLsn,
      inSourceTransaction: () => this.tx !== undefined,
      inStreamOrder: (work) => void this.intake.run(work).catch(fail),
      stored: (lsn) => this.slot.acknowledge(lsn),
      failure: () => this.failure,
      fail,
    });
    this.relations = new RelationRegistry({
      source: source.name,
      platform: deps.platform,
      topicSettings: deps.topicSettings,
      topicFor: deps.topicFor,
      isCaptured: deps.isCaptured,
      inPlatformTransaction: () => this.writer.inPlatformTransaction,
      logger: this.logger,
    });
    this.router = new ChangeRouter(this.relations, deps.watermarks);
  }

  /** Highest LSN acknowledged to the source. */
  get confirmedLsn(): bigint {
    return this.slot.confirmedLsn;
  }

  get messagesAppended(): number {
    return this.writer.messagesAppended;
  }

  /** Streams until stop() (resolves) or the first error (rejects). */
  async run(): Promise<void> {
    const { source } = this.deps;
    const client = await connectSource(source, `tributary-capture-meta:${source.name}`);
    client.on('error', (e) => this.fail(e));
    const database = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0].db;
    this.sourceMeta = { client, database };
    // Stopped or failed while connecting: stop() and fail() found nothing to settle, so nothing would
    // ever settle the promise below.
    if (this.stopping || this.failure) {
      await client.end().catch(() => undefined);
      if (this.failure) throw this.failure;
      return;
    }

    const done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.service.on('data', (lsn: string, message: PgoutputMessage) => {
      // Most messages are row changes that need no I/O: handled at once, with no promise, when nothing
      // else is queued (ordering holds). Only a full buffer, and other kinds, take the queued path.
      if (this.intake.empty && !this.failure) {
        try {
          if (this.handleNow(lsn, message)) return undefined;
        } catch (e) {
          this.fail(e as Error);
          return undefined;
        }
      }
      return this.intake.run(() => this.handle(lsn, message)).catch((e: Error) => this.fail(e));
    });
    this.service.on('heartbeat', (_lsn: string, _ts: number, shouldRespond: boolean) => {
      if (shouldRespond) this.slot.answerKeepalive();
    });
    this.service.on('error', (e: Error) => this.fail(e));
    this.service.subscribe(this.plugin, source.slot, formatLsn(this.deps.startLsn)).then(
      () => this.fail(new Error('the replication stream ended')),
      (e: Error) => this.fail(e),
    );
    this.slot.startHeartbeats(client, source.heartbeatIntervalMs);
    this.logger.log(`streaming slot ${source.slot} from ${formatLsn(this.deps.startLsn)}`);
    return done;
  }

  /** Graceful stop: commits finished source transactions still waiting for their platform commit. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.slot.stopHeartbeats();
    this.writer.cancelCommitTimer();
    if (!this.failure) {
      // Not fatal: the slot was not acknowledged, so these transactions are streamed again on restart.
      await this.intake
        .run(async () => {
          if (!this.tx) await this.writer.commit();
          await this.writer.appended();
        })
        .catch((e: Error) =>
          this.logger.warn(`final commit at stop failed; the source will send those changes again: ${e.message}`),
        );
    }
    // Nothing queued may still be running when the caller ends the platform connection.
    await this.writer.appended().catch(() => undefined);
    await this.service.destroy().catch(() => undefined);
    await this.sourceMeta?.client.end().catch(() => undefined);
    this.settle?.resolve();
  }

  fail(error: Error): void {
    if (this.failure || this.stopping) return;
    this.failure = error;
    this.slot.stopHeartbeats();
    this.writer.cancelCommitTimer();
    void this.service.destroy().catch(() => undefined);
    void this.sourceMeta?.client.end().catch(() => undefined);
    this.settle?.reject(error);
  }

  /**
   * Handles a begin or a row change that does not fill the buffer, synchronously; false, having done
   * nothing, for anything else (it goes through `handle`).
   */
  private handleNow(lsnText: string, message: PgoutputMessage): boolean {
    if (message.tag === 'begin') {
      this.lastMessageAtMs = Date.now();
      this.tx = openTransaction(message, this.writer.checkpoint);
      return true;
    }
    if (message.tag !== 'insert' && message.tag !== 'update' && message.tag !== 'delete') return false;
    const buffer = this.writer.buffer;
    if (buffer.length + 2 >= this.deps.source.batchSize) return false; // a key change pushes two
    this.lastMessageAtMs = Date.now();
    if (this.tx && !this.tx.skip) this.router.route(this.tx, parseLsn(lsnText), lsnText, message, buffer);
    return true;
  }

  private async handle(lsnText: string, message: PgoutputMessage): Promise<void> {
    const walStart = parseLsn(lsnText);
    this.lastMessageAtMs = Date.now();
    switch (message.tag) {
      case 'begin':
        this.tx = openTransaction(message, this.writer.checkpoint);
        return;
      case 'relation':
        await this.writer.appended();
        return this.relations.register(message.relation, this.sourceMeta as SourceMetadata);
      case 'insert':
      case 'update':
      case 'delete':
      case 'truncate':
        if (!this.tx || this.tx.skip) return;
        this.router.route(this.tx, walStart, lsnText, message, this.writer.buffer);
        if (this.writer.buffer.length >= this.deps.source.batchSize) await this.writer.flush();
        return;
      case 'commit':
        return this.onCommit(message.endLsn);
      case 'message':
        if (message.transactional && message.prefix === WATERMARK_PREFIX) {
          if (this.tx && !this.tx.skip && this.deps.watermarks) await this.onWatermark(walStart, message.content);
          return;
        }
        // A heartbeat outside any transaction: everything before it has been handled.
        if (!message.transactional && message.prefix === HEARTBEAT_PREFIX && !this.tx && this.writer.idle) {
          // Behind any commit still queued: never acknowledge past what is stored.
          void this.writer.enqueue(() => this.slot.acknowledge(message.lsn));
        }
        return;
      default:
        return;
    }
  }

  /** A snapshot chunk's rows are appended in its high watermark's transaction (docs/snapshots.md). */
  private async onWatermark(walStart: bigint, content: Buffer): Promise<void> {
    await this.writer.appended();
    const tx = this.tx as OpenTransaction;
    const { database } = this.sourceMeta as SourceMetadata;
    const rows = await (this.deps.watermarks as WatermarkHandler).onMark(content, {
      platform: this.deps.platform,
      beginTransaction: () => this.writer.beginTransaction(),
      topicFor: this.deps.topicFor,
      partitions: (topic) => this.relations.ensureTopic(topic),
      source: this.deps.source.name,
      database,
      txId: tx.xid,
      commitLsn: tx.finalLsn,
      commitTimeMs: tx.commitTimeMs,
      lsn: walStart,
    });
    if (rows.length) await this.writer.appendRows(rows);
  }

  private async onCommit(endLsn: bigint): Promise<void> {
    const tx = this.tx;
    this.tx = undefined;
    if (!tx || tx.skip) return;
    await this.writer.sourceCommitted(endLsn, tx.xid, tx.commitTimeMs);
  }
}
