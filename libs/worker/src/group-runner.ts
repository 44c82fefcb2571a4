import { Logger } from '@nestjs/common';
import type { GroupConfig } from '@tributary/config';
import {
  ConsumedMessage,
  GroupMember,
  GroupRepository,
  MessageNotifier,
  OwnedPartition,
  StaleMemberError,
} from '@tributary/consumer-groups';
import { backoffDelay } from './backoff';
import type { Sink } from './sinks/sink';

const IDLE_POLL_MS = 1_000;

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
  /** Partitions (per ownership) whose start was checked against the sink's own stored offset. */
  private readonly synced = new WeakSet<OwnedPartition>();
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

  /** Graceful: stops fetching, lets the batch in hand finish, commits, leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
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
          await this.notifier.wait(Math.min(IDLE_POLL_MS, Math.max(10, this.member.heartbeatIntervalMs)));
        }
      } catch (error) {
        if (error instanceof StaleMemberError) continue; // the partition was dropped; carry on with the rest
        failures++;
        const delay = backoffDelay(failures, 200, 10_000);
        this.logger.error(`member ${this.member.id}: ${(error as Error).message}; retrying in ${delay} ms`);
        await this.sleep(delay);
      }
    }
  }

  /** A sink that stores offsets with the data may be ahead of the platform's commit: start where it is. */
  private async syncWithSink(p: OwnedPartition): Promise<void> {
    const stored = await this.sink.storedPosition?.(p.topic, p.partition);
    if (stored !== undefined && stored > p.position) {
      p.tracker.reset(stored);
      p.position = stored;
      await this.member.commit(p);
    }
    this.synced.add(p);
  }

  private async process(p: OwnedPartition, batch: ConsumedMessage[]): Promise<void> {
    const done = await this.deliver(p, batch);
    for (const m of done) this.member.ack(p, m.offset);
    await this.member.commit(p);
  }

  /**
   * Delivers a batch, retrying it whole; if it keeps failing, delivers its messages one at a time so
   * only the failing message meets the failure policy. Returns the leading messages that are done
   * (delivered or dead-lettered); fewer than the batch when blocked or stopping, to keep order.
   */
  private async deliver(p: OwnedPartition, batch: ConsumedMessage[]): Promise<ConsumedMessage[]> {
    const { maxAttempts } = this.config.retry;
    const error = await this.tryDeliver(p, batch, maxAttempts);
    if (!error) return batch;
    if (this.stopping) return [];
    if (this.sink.blockOnFailure) return this.blockUntilDelivered(p, batch, error);
    if (batch.length > 1) {
      const done: ConsumedMessage[] = [];
      for (const m of batch) {
        if ((await this.deliver(p, [m])).length === 0) break;
        this.member.ack(p, m.offset); // so a block on a later message commits the ones before it
        done.push(m);
      }
      return done;
    }
    const [message] = batch;
    if (this.config.onFailure === 'dead_letter') {
      await this.repo.deadLetter(this.config.name, message, error.message, maxAttempts);
      this.stats.deadLettered++;
      this.logger.warn(
        `dead-lettered ${message.topic}[${message.partition}]@${message.offset} after ${maxAttempts} attempts: ${error.message}`,
      );
      return batch;
    }
    return this.blockUntilDelivered(p, batch, error);
  }

  /** The partition waits on this batch, retrying at the longest backoff, with status `blocked` meanwhile. */
  private async blockUntilDelivered(p: OwnedPartition, batch: ConsumedMessage[], first: Error): Promise<ConsumedMessage[]> {
    const detail = `blocked at offset ${batch[0].offset}: ${first.message}`;
    this.logger.error(`${batch[0].topic}[${batch[0].partition}] ${detail}`);
    await this.member.commit(p, { status: 'blocked', detail });
    p.status = 'ok'; // this loop keeps retrying; the stored status is for operators
    while (!this.stopping) {
      await this.pause(this.config.retry.maxBackoffMs);
      if (this.stopping || !this.stillOwns(p)) break; // a new owner takes the partition (and the block) over
      if (!(await this.tryDeliver(p, batch, 1))) {
        await this.member.commit(p, { status: 'ok', detail: null });
        return batch;
      }
    }
    return [];
  }

  /** Up to `attempts` tries with backoff and jitter between them; the last error, or undefined on success. */
  private async tryDeliver(p: OwnedPartition, batch: ConsumedMessage[], attempts: number): Promise<Error | undefined> {
    const { initialBackoffMs, maxBackoffMs } = this.config.retry;
    let error: Error = new Error('stopped before delivery');
    for (let attempt = 1; attempt <= attempts && !this.stopping && this.stillOwns(p); attempt++) {
      try {
        await this.sink.deliver(batch);
        this.stats.delivered += batch.length;
        this.onDelivered?.(batch);
        return undefined;
      } catch (e) {
        error = e instanceof Error ? e : new Error(String(e));
      }
      if (attempt < attempts) {
        this.stats.retries++;
        await this.pause(backoffDelay(attempt, initialBackoffMs, maxBackoffMs));
      }
    }
    return error;
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
