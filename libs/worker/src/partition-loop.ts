import { StaleMemberError, type OwnedPartition } from '@tributary/consumer-groups';
import type { ConsumedMessage } from '@tributary/sink-contract';
import { backoffDelay, sleepUnlessAborted } from '@tributary/timing';
import { deliverInKeyLanes } from './key-lanes';
import { OffsetCommitter } from './offset-committer';
import { PartitionDelivery, type FailedAttempt } from './partition-delivery';
import type { RunnerScope } from './runner-scope';

/**
 * An idle partition looks for new messages this often without a notification: rarely while LISTEN is on
 * (every append is announced, and a reconnect wakes everyone), often while it is not.
 */
const IDLE_POLL_MS = { listening: 5_000, polling: 1_000 };
/** A partition's delivered messages are committed at most this often (see OffsetCommitter). */
export const COMMIT_INTERVAL_MS = 100;

/**
 * One owned partition, consumed on its own: fetch, deliver (PartitionDelivery), acknowledge, commit
 * (OffsetCommitter), then the next batch, or a wait for the next append to its topic. It ends when the
 * partition is no longer to be consumed here (stop, pause, revoked, lost, failed), after the call in hand;
 * a revoked partition is then handed over. Nothing another partition does makes it wait, but for a
 * concurrency slot while it delivers.
 */
export class PartitionLoop {
  private readonly committer: OffsetCommitter;
  private readonly delivery: PartitionDelivery;
  /** Aborted to end the current wait (idle or backoff) early. */
  private interrupt = new AbortController();
  /** Calls off the deliver call in hand (its waits). */
  private inFlight?: AbortController;
  private failures = 0;
  /** The read ahead running while a batch is delivered (GroupMember.readMore). */
  private reading?: Promise<void>;
  private finished?: Promise<void>;

  constructor(
    private readonly scope: RunnerScope,
    readonly p: OwnedPartition,
  ) {
    this.committer = new OffsetCommitter(scope.member, p, COMMIT_INTERVAL_MS, scope.logger);
    this.delivery = new PartitionDelivery(scope, p, this.committer, {
      sleep: (ms) => this.sleep(ms),
      live: () => this.live(),
    });
  }

  /** Runs the loop (once); resolves when it has ended and committed what it acknowledged. */
  run(): Promise<void> {
    this.finished ??= this.loop();
    return this.finished;
  }

  /** Ends the current wait, so the loop sees at once that it is to stop (a pause, a revoke). */
  wake(): void {
    const interrupt = this.interrupt;
    this.interrupt = new AbortController();
    interrupt.abort();
  }

  /** Also calls off the deliver call in hand (stop, or the partition was lost): its result would not count. */
  abort(): void {
    this.inFlight?.abort();
    this.wake();
  }

  /** Owned under the lease it started with, not revoked, and the runner is not stopping. */
  live(): boolean {
    return !this.scope.stopping() && this.scope.member.find(this.p) === this.p && !this.p.revoked;
  }

  /** To be consumed here now: live, not failed, the group not paused. */
  consuming(): boolean {
    return this.live() && this.p.status === 'ok' && !this.scope.member.paused;
  }

  private async loop(): Promise<void> {
    try {
      while (this.consuming()) {
        try {
          await this.step();
          this.failures = 0;
        } catch (error) {
          // Fenced (GroupMember dropped the partition), or called off by a stop: the loop ends.
          if (error instanceof StaleMemberError || !this.live()) continue;
          this.failures++;
          const delay = backoffDelay(this.failures, 200, 10_000);
          this.scope.logger.error(
            `member ${this.scope.member.id}, ${this.p.topic}[${this.p.partition}]: ${(error as Error).message}; retrying in ${delay} ms`,
          );
          await this.sleep(delay);
        }
      }
    } finally {
      await this.committer.close();
      if (this.p.revoked && !this.scope.stopping()) {
        await this.scope.member.release(this.p).catch((e: Error) => this.scope.logger.warn(`hand-over failed: ${e.message}`));
      }
    }
  }

  private async step(): Promise<void> {
    const { member, config, notifier, synced } = this.scope;
    if (!synced.has(this.p)) await this.syncWithSink();
    const seen = notifier.topicSequence(this.p.topic); // an append after this point ends the wait below at once
    await this.reading; // the read ahead started while the last batch was delivered
    const batch = await member.fetch(this.p, config.batchSize);
    if (batch.length) {
      // A full batch: there is probably more, read while this one is delivered.
      if (batch.length === config.batchSize) this.reading = member.readMore(this.p, config.batchSize).catch(() => undefined);
      await this.process(batch);
    } else if (this.consuming()) {
      const at = { partition: this.p.partition, position: this.p.position };
      const poll = notifier.listening ? IDLE_POLL_MS.listening : IDLE_POLL_MS.polling;
      await notifier.wait(poll, seen, this.p.topic, this.interrupt.signal, at);
    }
  }

  /** A sink that stores offsets with the data may be ahead of the platform's commit: start where it is. */
  private async syncWithSink(): Promise<void> {
    const { config } = this.scope;
    const p = this.p;
    const stored = await this.storedPosition();
    if (stored && stored.topicIncarnation !== null && p.topicIncarnation && stored.topicIncarnation !== p.topicIncarnation) {
      // The topic was deleted and re-created: the stored offset counts the old one's messages. The new
      // one starts at the group's startFrom; the sink stores the new incarnation with its first batch.
      await this.scope.recordOnce(
        p,
        'topic_recreated',
        `${p.topic}[${p.partition}] was re-created: the target's stored offset ${stored.nextOffset} belongs to the ` +
          `earlier topic of this name, so the partition starts at offset ${p.position} (startFrom ${config.startFrom})`,
      );
    } else if (stored && stored.nextOffset > p.position) {
      p.tracker.reset(stored.nextOffset);
      p.position = stored.nextOffset;
      await this.committer.now();
    }
    this.scope.synced.add(p);
  }

  /** The sink's stored position, asked under a concurrency slot: a sink may serve one call at a time. */
  private async storedPosition(): Promise<Awaited<ReturnType<NonNullable<RunnerScope['sink']['storedPosition']>>>> {
    const { sink, slots, stopSignal } = this.scope;
    if (!sink.storedPosition) return undefined;
    if (!(await slots.acquire(stopSignal))) throw new Error('stopping');
    try {
      return await sink.storedPosition(this.p.topic, this.p.partition, stopSignal);
    } finally {
      slots.release();
    }
  }

  /** Delivers a fetched batch in pieces the sink takes whole (one request each), in order. */
  private async process(batch: ConsumedMessage[]): Promise<void> {
    try {
      await this.processPieces(batch);
    } finally {
      // fetch() moved the position past the whole batch; whatever was not acknowledged (an error, a
      // block, a stop) must be fetched again, in order, or it would be skipped.
      const next = this.p.tracker.advance();
      if (next < this.p.position) this.p.position = next;
    }
  }

  private async processPieces(batch: ConsumedMessage[]): Promise<void> {
    const size = Math.max(1, this.scope.sink.maxBatchSize ?? batch.length);
    const lanes = this.scope.sink.keyLanes ?? 1;
    if (size === 1 && lanes > 1 && batch.length > 1) return this.processInKeyLanes(batch, lanes);
    for (let i = 0; i < batch.length && this.live(); i += size) {
      const chunk = size >= batch.length ? batch : batch.slice(i, i + size);
      const done = await this.inFlightAs(new AbortController(), (controller) => this.delivery.deliver(chunk, controller));
      this.acknowledge(done);
      if (done.length < chunk.length) break;
    }
  }

  /**
   * Single messages, up to `lanes` of different keys in flight (deliverInKeyLanes), one attempt each;
   * the first message not done then meets the retries and the failure policy alone, as in order, and
   * the lanes carry on after it.
   */
  private async processInKeyLanes(batch: ConsumedMessage[], lanes: number): Promise<void> {
    let pending = batch;
    const failed = new Map<ConsumedMessage, FailedAttempt>();
    while (pending.length && this.live()) {
      pending = await this.inFlightAs(new AbortController(), (controller) =>
        deliverInKeyLanes(pending, lanes, async (m) => {
          if (failed.has(m)) return false; // its further attempts are the failure policy's, when its turn comes
          const error = await this.delivery.deliverOnce(m, controller);
          if (error) failed.set(m, { error, at: Date.now() });
          else this.acknowledge([m]);
          return !error;
        }),
      );
      if (!pending.length || !this.live()) return;
      const first = pending[0];
      const done = await this.inFlightAs(new AbortController(), (controller) =>
        this.delivery.deliver([first], controller, failed.get(first)),
      );
      if (!done.length) return; // blocked until the partition moved on, or stopping: the next owner carries on
      this.acknowledge(done);
      pending = pending.slice(1);
    }
  }

  /** Runs a delivery that abort() calls off through `controller`. */
  private async inFlightAs<T>(controller: AbortController, work: (controller: AbortController) => Promise<T>): Promise<T> {
    this.inFlight = controller;
    try {
      return await work(controller);
    } finally {
      this.inFlight = undefined;
    }
  }

  private acknowledge(done: ConsumedMessage[]): void {
    for (const m of done) this.scope.member.ack(this.p, m.offset);
    this.committer.request();
  }

  /** A backoff pause: new messages do not cut it short; stop(), a pause, a revoke or a loss do. */
  private sleep(ms: number): Promise<void> {
    return this.live() ? sleepUnlessAborted(ms, this.interrupt.signal) : Promise.resolve();
  }
}
