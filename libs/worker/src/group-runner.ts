import { Logger } from '@nestjs/common';
import type { GroupConfig } from '@tributary/config';
import {
  ConsumedMessage,
  GroupMember,
  GroupRepository,
  MessageNotifier,
  OwnedPartition,
  GroupDeletedError,
  StaleMemberError,
} from '@tributary/consumer-groups';
import { backoffDelay } from './backoff';
import type { DeliveryContext, Sink, SinkFailure } from './sinks/sink';

const IDLE_POLL_MS = 1_000;
/** While a fetched batch is delivered piece by piece, the progress is committed at least this often. */
const PIECE_COMMIT_MS = 250;

export interface RunnerStats {
  delivered: number;
  deadLettered: number;
  retries: number;
}

/**
 * Runs one member of a group: fetch a batch per owned partition, hand it to the sink (retrying with
 * backoff and jitter), acknowledge, commit. A message that still fails after the last attempt goes to
 * the dead letter table and the partition moves on, or, with onFailure=block, the partition waits.
 */
export class GroupRunner {
  private readonly logger: Logger;
  private stopping = false;
  private loop?: Promise<void>;
  private wakeSleepers: (() => void)[] = [];
  /** Calls off the delivery in hand (its waits) on stop. */
  private inFlight?: AbortController;
  /** Aborted by stop(): calls off the sink's other calls (storedPosition). */
  private readonly stopped = new AbortController();
  /** Partitions (per ownership) whose start was checked against the sink's own stored offset. */
  private readonly synced = new WeakSet<OwnedPartition>();
  private readonly recorded = new Set<string>();
  readonly stats: RunnerStats = { delivered: 0, deadLettered: 0, retries: 0 };

  constructor(
    readonly member: GroupMember,
    private readonly config: GroupConfig,
    private readonly repo: GroupRepository,
    private readonly sink: Sink,
    private readonly notifier: MessageNotifier,
    /** Called with each batch once the sink accepted it (tests and metrics). */
    private readonly onDelivered?: (batch: ConsumedMessage[]) => void,
  ) {
    this.logger = new Logger(`Group ${config.name}`);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Stops fetching, commits what is acknowledged and leaves the group. The sink call in hand is aborted
   * (its signal): a sink that waits on a target ends the wait, so a hung target never holds up a stop;
   * what it did not finish is delivered again by the next owner.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.inFlight?.abort();
    this.stopped.abort();
    this.notifier.wakeAll();
    for (const wake of this.wakeSleepers) wake();
    await this.loop;
    await this.member.leave().catch((e: Error) => this.logger.warn(`leaving the group failed: ${e.message}`));
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.member.heartbeat();
        const seen = this.notifier.sequence; // an append after this point must not wait out a whole poll
        let worked = false;
        for (const p of this.member.active()) {
          if (this.stopping) break;
          if (!this.synced.has(p)) await this.syncWithSink(p);
          const batch = await this.member.fetch(p, this.config.batchSize);
          if (batch.length === 0) continue;
          worked = true;
          await this.process(p, batch);
        }
        await this.member.releaseRevoked();
        failures = 0;
        if (!worked && !this.stopping) {
          await this.notifier.wait(Math.min(IDLE_POLL_MS, Math.max(10, this.member.heartbeatIntervalMs)), seen);
        }
      } catch (error) {
        if (error instanceof StaleMemberError) continue; // the partition was dropped; carry on with the rest
        if (error instanceof GroupDeletedError) {
          this.logger.log(`member ${this.member.id}: ${error.message}; stopping`);
          this.stopping = true; // the worker following the catalog removes this runner
          break;
        }
        failures++;
        const delay = backoffDelay(failures, 200, 10_000);
        this.logger.error(`member ${this.member.id}: ${(error as Error).message}; retrying in ${delay} ms`);
        await this.sleep(delay);
      }
    }
  }

  /** A sink that stores offsets with the data may be ahead of the platform's commit: start where it is. */
  private async syncWithSink(p: OwnedPartition): Promise<void> {
    const stored = await this.sink.storedPosition?.(p.topic, p.partition, this.stopped.signal);
    if (stored && stored.topicIncarnation !== null && p.topicIncarnation && stored.topicIncarnation !== p.topicIncarnation) {
      // The topic was deleted and re-created: the stored offset counts the old one's messages. The new
      // one starts at the group's startFrom; the sink stores the new incarnation with its first batch.
      await this.recordOnce(
        p,
        'topic_recreated',
        `${p.topic}[${p.partition}] was re-created: the target's stored offset ${stored.nextOffset} belongs to the ` +
          `earlier topic of this name, so the partition starts at offset ${p.position} (startFrom ${this.config.startFrom})`,
      );
    } else if (stored && stored.nextOffset > p.position) {
      p.tracker.reset(stored.nextOffset);
      p.position = stored.nextOffset;
      await this.member.commit(p);
    }
    this.synced.add(p);
  }

  /** Records a group event once per partition incarnation in this runner (every re-ownership would repeat it). */
  private async recordOnce(p: OwnedPartition, kind: string, detail: string): Promise<void> {
    const key = `${kind}\u0000${p.topic}\u0000${p.partition}\u0000${p.topicIncarnation}`;
    if (this.recorded.has(key)) return;
    this.logger.warn(detail);
    await this.repo.recordEvent(this.config.name, p, kind, detail);
    this.recorded.add(key);
  }

  /** Delivers a fetched batch in pieces the sink takes whole (one request each), in order; commits once. */
  private async process(p: OwnedPartition, batch: ConsumedMessage[]): Promise<void> {
    try {
      await this.processPieces(p, batch);
    } finally {
      // fetch() moved the position past the whole batch; whatever was not acknowledged (an error, a
      // block, a stop) must be fetched again, in order, or it would be skipped.
      const next = p.tracker.advance();
      if (next < p.position) p.position = next;
    }
  }

  private async processPieces(p: OwnedPartition, batch: ConsumedMessage[]): Promise<void> {
    const size = Math.max(1, this.sink.maxBatchSize ?? batch.length);
    let committedAt = Date.now();
    for (let i = 0; i < batch.length && !this.stopping; i += size) {
      if (Date.now() - committedAt >= PIECE_COMMIT_MS) {
        await this.member.commit(p); // fewer redeliveries after a crash
        committedAt = Date.now();
      }
      const chunk = size >= batch.length ? batch : batch.slice(i, i + size);
      const controller = new AbortController();
      this.inFlight = controller;
      let done: ConsumedMessage[];
      try {
        done = await this.deliver(p, chunk, controller);
      } finally {
        this.inFlight = undefined;
      }
      for (const m of done) this.member.ack(p, m.offset);
      if (done.length < chunk.length) break;
    }
    await this.member.commit(p);
  }

  /**
   * Delivers a batch, retrying it whole; if it keeps failing, delivers its messages one at a time so
   * only the failing message meets the failure policy. Returns the leading messages that are done
   * (delivered or dead-lettered); fewer than the batch when blocked or stopping, to keep order.
   */
  private async deliver(p: OwnedPartition, batch: ConsumedMessage[], controller: AbortController): Promise<ConsumedMessage[]> {
    const { maxAttempts } = this.config.retry;
    const error = await this.tryDeliver(p, batch, maxAttempts, controller);
    if (!error) return batch;
    if (this.stopping || !this.stillOwns(p) || controller.signal.aborted) return []; // the next owner carries on
    if (this.sink.blockOnFailure || (error as SinkFailure).blockPartition) {
      return this.blockUntilDelivered(p, batch, error, controller);
    }
    if (batch.length > 1 && this.sink.isolateFailures !== false) {
      const done: ConsumedMessage[] = [];
      for (const m of batch) {
        if ((await this.deliver(p, [m], controller)).length === 0) break;
        this.member.ack(p, m.offset); // so a block on a later message commits the ones before it
        done.push(m);
      }
      return done;
    }
    if (this.config.onFailure === 'dead_letter') {
      for (const message of batch) {
        await this.repo.deadLetter(this.config.name, message, error.message, maxAttempts);
        this.stats.deadLettered++;
        this.logger.warn(
          `dead-lettered ${message.topic}[${message.partition}]@${message.offset} after ${maxAttempts} attempts: ${error.message}`,
        );
      }
      return batch;
    }
    return this.blockUntilDelivered(p, batch, error, controller);
  }

  /** The partition waits on this batch, retrying at the longest backoff, with status `blocked` meanwhile. */
  private async blockUntilDelivered(
    p: OwnedPartition,
    batch: ConsumedMessage[],
    first: Error,
    controller: AbortController,
  ): Promise<ConsumedMessage[]> {
    const detail = `blocked at offset ${batch[0].offset}: ${first.message}`;
    this.logger.error(`${batch[0].topic}[${batch[0].partition}] ${detail}`);
    await this.member.commit(p, { status: 'blocked', detail });
    p.status = 'ok'; // this loop keeps retrying; the stored status is for operators
    let last = first;
    let attempt = this.config.retry.maxAttempts;
    while (!this.stopping) {
      await this.pause(this.retryDelay(last, Infinity));
      if (this.stopping || !this.stillOwns(p)) break; // a new owner takes the partition (and the block) over
      const error = await this.tryDeliver(p, batch, 1, controller, ++attempt);
      if (!error) {
        await this.member.commit(p, { status: 'ok', detail: null });
        return batch;
      }
      last = error;
    }
    return [];
  }

  /** Up to `attempts` tries with backoff and jitter between them; the last error, or undefined on success. */
  private async tryDeliver(
    p: OwnedPartition,
    batch: ConsumedMessage[],
    attempts: number,
    controller: AbortController,
    firstAttempt = 1,
  ): Promise<Error | undefined> {
    let error: Error = new Error('stopped before delivery');
    const { signal } = controller;
    for (let n = 1; n <= attempts && !this.stopping && !signal.aborted && this.stillOwns(p); n++) {
      const context: DeliveryContext = {
        attempt: firstAttempt + n - 1,
        signal,
        wait: async (ms) => {
          await this.pause(ms);
          if (this.stopping || !this.stillOwns(p)) controller.abort();
        },
      };
      try {
        await this.sink.deliver(batch, context);
        this.stats.delivered += batch.length;
        this.onDelivered?.(batch);
        return undefined;
      } catch (e) {
        error = e instanceof Error ? e : new Error(String(e));
      }
      if ((error as SinkFailure).blockPartition) return error;
      if (n < attempts) {
        this.stats.retries++;
        await this.pause(this.retryDelay(error, n));
      }
    }
    return error;
  }

  /** The backoff after a failed attempt, or the wait the sink asked for (Retry-After), at most the max backoff. */
  private retryDelay(error: Error, attempt: number): number {
    const { initialBackoffMs, maxBackoffMs } = this.config.retry;
    const asked = (error as SinkFailure).retryAfterMs;
    if (typeof asked === 'number' && Number.isFinite(asked)) return Math.min(maxBackoffMs, Math.max(0, asked));
    return attempt === Infinity ? maxBackoffMs : backoffDelay(attempt, initialBackoffMs, maxBackoffMs);
  }

  /**
   * Waits out a backoff while keeping the membership alive: a backoff or a block may last longer than
   * the session timeout, and a member that stops heartbeating loses all its partitions.
   */
  private async pause(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!this.stopping && Date.now() < until) {
      await this.sleep(Math.min(until - Date.now(), this.member.heartbeatIntervalMs));
      await this.member.heartbeat().catch((e: Error) => this.logger.warn(`heartbeat while waiting failed: ${e.message}`));
    }
  }

  private stillOwns(p: OwnedPartition): boolean {
    return this.member.find(p) === p && !p.revoked;
  }

  /** A backoff pause: unlike the notifier's wait, new messages do not cut it short; stop() does. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.wakeSleepers = this.wakeSleepers.filter((w) => w !== wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakeSleepers.push(wake);
    });
  }
}
