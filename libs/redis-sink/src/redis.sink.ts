import type { EnvelopeRenderer } from '@tributary/debezium-envelope';
import type { RedisSinkConfig } from '@tributary/config';
import {
  DestinationTemplate,
  type ConsumedMessage,
  type DeliveryContext,
  type Sink,
  DestinationHealth,
  type SinkEvent,
  type SinkFailure,
  type SinkMetrics,
} from '@tributary/sink-contract';
import { ReplyError } from 'ioredis';
import { RedisConnection, RedisUnavailableError } from './redis-connection';
import { nextOffsetOf } from './stream-append';

export interface RedisSinkOptions {
  group: string;
  config: RedisSinkConfig;
  report?: (event: SinkEvent) => Promise<void>;
  metrics?: SinkMetrics;
  /** Renders the bodies in the sink's `envelope` format; without it, the envelope as captured. */
  envelopes?: EnvelopeRenderer;
}

/** Consecutive messages of one partition for one stream, at most maxBatchBytes of bodies: one script call. */
interface Run {
  stream: string;
  messages: ConsumedMessage[];
  args: (string | Buffer)[];
}

/** The stream refused the write, and skipping would lose messages (another partition's stream, a wrong type). */
export class RedisStreamError extends Error {
  constructor(
    message: string,
    readonly blockPartition: boolean,
  ) {
    super(message);
    this.name = 'RedisStreamError';
  }
}

/**
 * `sink.type: redis`: each message an entry `<offset + 1>-0` of its partition's stream, exactly once
 * (stream-append.ts says how). A batch is written run by run, in offset order, each run waiting for
 * the one before: so any entry in any stream means every earlier offset of its partition is written,
 * which is what lets `storedPosition` resume from a stream's newest entry.
 */
export class RedisSink implements Sink {
  readonly kind = 'redis';
  readonly maxBatchSize: number;
  /** A failure is the destination's (down, refused), never one message's: retrying one by one would not help. */
  readonly isolateFailures = false;
  /** One connection carries the partitions' calls side by side; each partition's own stay in order. */
  readonly concurrency = 4;
  private readonly connection: RedisConnection;
  private readonly template: DestinationTemplate;
  private readonly health: DestinationHealth;

  constructor(private readonly options: RedisSinkOptions) {
    this.maxBatchSize = options.config.batchSize;
    this.health = new DestinationHealth(options.report);
    this.connection = new RedisConnection(options.config.url, options.config.timeoutMs, options.config.tls);
    this.template = new DestinationTemplate(options.config.streamKey);
  }

  async deliver(batch: ConsumedMessage[], context?: DeliveryContext): Promise<void> {
    if (batch.length === 0) return;
    const { topic, partition } = batch[0];
    try {
      const client = await this.connection.ready(context?.signal);
      const bodies = this.options.envelopes ? await this.options.envelopes.render(batch) : batch.map((m) => m.envelope);
      for (const run of this.runs(batch, bodies)) {
        const started = performance.now();
        const [, skipped] = await client.tributaryAppend(run.stream, ...run.args);
        this.options.metrics?.latency((performance.now() - started) / 1000);
        this.options.metrics?.published(run.messages.length);
        if (skipped > 0) await this.reportSkipped(run, skipped);
      }
    } catch (error) {
      this.options.metrics?.failed(1);
      const failure = this.failure(error as Error);
      const kind = failure instanceof RedisStreamError ? 'redis_stream_refused' : 'sink_unavailable';
      if (failure.blockPartition) await this.health.failing(topic, partition, failure.message, kind);
      throw failure;
    }
    await this.health.working(topic, partition, `redis at ${this.connection.address} accepts writes again`);
  }

  /**
   * Where a partition resumes: after the newest entry of its stream, when the stream key names only
   * topic and partition (a replay from the committed offset would be skipped entry by entry anyway).
   */
  async storedPosition(
    topic: string,
    partition: number,
    signal?: AbortSignal,
  ): Promise<{ nextOffset: bigint; topicIncarnation: string | null } | undefined> {
    if (!this.template.perPartition) return undefined;
    const stream = this.template.render({ topic, partition, offset: 0n, key: null, envelope: '', appendedAt: new Date() });
    let newest: [string, string[]] | undefined;
    try {
      const client = await this.connection.ready(signal);
      [newest] = (await client.xrevrange(stream, '+', '-', 'COUNT', 1)) as [string, string[]][];
    } catch {
      // Only a shortcut: from the committed offset the append skips what is written, so starting there
      // loses nothing, and the first delivery reports Redis's state as the partition's status.
      return undefined;
    }
    if (!newest) return undefined;
    const fields = new Map<string, string>();
    for (let i = 0; i < newest[1].length; i += 2) fields.set(newest[1][i], newest[1][i + 1]);
    const nextOffset = nextOffsetOf(newest[0]);
    if (fields.get('topic') !== topic || fields.get('partition') !== String(partition) || nextOffset === undefined) {
      return undefined; // another writer's stream: the next append refuses it with the reason
    }
    return { nextOffset, topicIncarnation: fields.get('incarnation') || null };
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  private *runs(batch: ConsumedMessage[], bodies: string[]): Generator<Run> {
    const { maxLen, maxBatchBytes } = this.options.config;
    const head = (m: ConsumedMessage) => [m.topic, String(m.partition), m.topicIncarnation ?? '', maxLen ? String(maxLen) : ''];
    let run: Run | undefined;
    let bytes = 0;
    for (const [i, m] of batch.entries()) {
      const stream = this.template.render(m);
      const body = bodies[i];
      const size = Buffer.byteLength(body);
      if (run && (run.stream !== stream || bytes + size > maxBatchBytes)) {
        yield run;
        run = undefined;
      }
      if (!run) {
        run = { stream, messages: [], args: head(m) };
        bytes = 0;
      }
      run.messages.push(m);
      run.args.push(String(m.offset + 1n), m.key ?? '', body);
      bytes += size;
    }
    if (run) yield run;
  }

  /** Redis's own answer to the script is about the stream; anything else means Redis could not be reached. */
  private failure(error: Error): SinkFailure {
    if (error instanceof RedisUnavailableError || error instanceof RedisStreamError) return error;
    if (error instanceof ReplyError) {
      const foreign = error.message.startsWith('TRIBUTARY_FOREIGN_STREAM');
      const reason = foreign ? error.message.slice('TRIBUTARY_FOREIGN_STREAM '.length) : error.message;
      return new RedisStreamError(`redis at ${this.connection.address} refused the write: ${reason}`, foreign);
    }
    return this.connection.unavailable(error.message);
  }

  private async reportSkipped(run: Run, skipped: number): Promise<void> {
    const first = run.messages[0];
    const last = run.messages[skipped - 1];
    await this.health.record({
      topic: first.topic,
      partition: first.partition,
      kind: 'redis_replay_skipped',
      detail: `${skipped} message(s) at offsets ${first.offset}..${last.offset} were already in stream ${run.stream} (written before a restart); not written again`,
    });
  }
}
