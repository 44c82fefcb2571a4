import { partitionId, type OwnedPartition } from '@tributary/consumer-groups';
import { backoffDelay } from '@tributary/timing';
import type { OffsetCommitter } from './offset-committer';
import type { RunnerScope } from './runner-scope';
import type { ConsumedMessage, DeliveryContext, SinkFailure } from '@tributary/sink-contract';

/** What a partition's delivery needs of its loop: a wait that stop() and a lost partition cut short. */
export interface PartitionControls {
  sleep(ms: number): Promise<void>;
  /** Still this member's to deliver: not stopping, owned under the same lease, not revoked. */
  live(): boolean;
}

/** An attempt at a message that failed (in a key lane), and when (Date.now()). */
export interface FailedAttempt {
  error: Error;
  at: number;
}

/**
 * One partition's deliveries and their failure policy: retries with backoff and jitter, then one message
 * at a time so only a poison message meets the policy, then dead letters or a block. A deliver call holds
 * one of the member's concurrency slots; waiting out a backoff holds none, so a retrying or blocked
 * partition never keeps the member's other partitions waiting.
 */
export class PartitionDelivery {
  constructor(
    private readonly scope: RunnerScope,
    private readonly p: OwnedPartition,
    private readonly committer: OffsetCommitter,
    private readonly controls: PartitionControls,
  ) {}

  /**
   * Delivers a batch, retrying it whole; if it keeps failing, delivers its messages one at a time so
   * only the failing message meets the failure policy. Returns the leading messages that are done
   * (delivered or dead-lettered); fewer than the batch when blocked or stopping, to keep order.
   */
  async deliver(batch: ConsumedMessage[], controller: AbortController, failedOnce?: FailedAttempt): Promise<ConsumedMessage[]> {
    const { config, sink } = this.scope;
    const { maxAttempts } = config.retry;
    const error = failedOnce
      ? await this.retryAfter(batch, failedOnce, controller)
      : await this.tryDeliver(batch, maxAttempts, controller);
    if (!error) return batch;
    if (!this.controls.live() || controller.signal.aborted) return []; // the next owner carries on
    if (sink.blockOnFailure || (error as SinkFailure).blockPartition) {
      return this.blockUntilDelivered(batch, error, controller);
    }
    if (batch.length > 1 && sink.isolateFailures !== false) {
      const done: ConsumedMessage[] = [];
      for (const m of batch) {
        if ((await this.deliver([m], controller)).length === 0) break;
        this.scope.member.ack(this.p, m.offset); // so a block on a later message commits the ones before it
        done.push(m);
      }
      return done;
    }
    if (config.onFailure === 'dead_letter') {
      for (const message of batch) {
        await this.scope.repo.deadLetter(config.name, message, error.message, maxAttempts);
        this.scope.stats.deadLettered++;
        this.scope.logger.warn(
          `dead-lettered ${message.topic}[${message.partition}]@${message.offset} after ${maxAttempts} attempts: ${error.message}`,
        );
      }
      return batch;
    }
    return this.blockUntilDelivered(batch, error, controller);
  }

  /**
   * One attempt at one message, without the failure policy: undefined when delivered (the caller
   * acknowledges it), else the error, to hand to `deliver` (`failedOnce`) when the message's turn comes.
   */
  deliverOnce(message: ConsumedMessage, controller: AbortController): Promise<Error | undefined> {
    return this.tryDeliver([message], 1, controller);
  }

  /**
   * The attempts left after a first one that failed (in a key lane), the first backoff included; the error
   * that stands. The backoff counts from the failure: the message's turn may come long after it (the lanes
   * waited for a paused endpoint meanwhile), and sleeping it again then would hold the partition up twice.
   */
  private async retryAfter(
    batch: ConsumedMessage[],
    failed: FailedAttempt,
    controller: AbortController,
  ): Promise<Error | undefined> {
    const { maxAttempts } = this.scope.config.retry;
    const first = failed.error;
    if (maxAttempts <= 1 || (first as SinkFailure).blockPartition) return first;
    this.scope.stats.retries++;
    const left = this.retryDelay(first, 1) - (Date.now() - failed.at);
    if (left > 0) await this.controls.sleep(left);
    return this.tryDeliver(batch, maxAttempts - 1, controller, 2);
  }

  /** The partition waits on this batch, retrying at the longest backoff, with status `blocked` meanwhile. */
  private async blockUntilDelivered(
    batch: ConsumedMessage[],
    first: Error,
    controller: AbortController,
  ): Promise<ConsumedMessage[]> {
    const detail = `blocked at offset ${batch[0].offset}: ${first.message}`;
    this.scope.logger.error(`${batch[0].topic}[${batch[0].partition}] ${detail}`);
    await this.committer.now({ status: 'blocked', detail });
    this.p.status = 'ok'; // this loop keeps retrying; the stored status is for operators
    let last = first;
    let attempt = this.scope.config.retry.maxAttempts;
    while (this.controls.live()) {
      await this.controls.sleep(this.retryDelay(last, Infinity));
      if (!this.controls.live()) break; // a new owner takes the partition (and the block) over
      const error = await this.tryDeliver(batch, 1, controller, ++attempt);
      if (!error) {
        await this.committer.now({ status: 'ok', detail: null });
        return batch;
      }
      last = error;
    }
    return [];
  }

  /** Up to `attempts` tries with backoff and jitter between them; the last error, or undefined on success. */
  private async tryDeliver(
    batch: ConsumedMessage[],
    attempts: number,
    controller: AbortController,
    firstAttempt = 1,
  ): Promise<Error | undefined> {
    let error: Error = new Error('stopped before delivery');
    for (let n = 1; n <= attempts && !controller.signal.aborted && this.controls.live(); n++) {
      try {
        await this.attempt(batch, firstAttempt + n - 1, controller);
        this.scope.recovery.succeeded(partitionId(this.p));
        this.scope.stats.delivered += batch.length;
        this.scope.onDelivered?.(batch);
        return undefined;
      } catch (e) {
        error = e instanceof Error ? e : new Error(String(e));
        if (!controller.signal.aborted) this.scope.recovery.failed(partitionId(this.p));
      }
      if ((error as SinkFailure).blockPartition) return error;
      if (n < attempts) {
        this.scope.stats.retries++;
        await this.controls.sleep(this.retryDelay(error, n));
      }
    }
    return error;
  }

  /** One deliver call, holding a concurrency slot except while the sink waits through `context.wait`. */
  private async attempt(batch: ConsumedMessage[], attempt: number, controller: AbortController): Promise<void> {
    const { slots, sink } = this.scope;
    const { signal } = controller;
    let held = await slots.acquire(signal);
    if (!held) throw new Error('stopped before delivery');
    const context: DeliveryContext = {
      attempt,
      signal,
      wait: async (ms) => {
        if (held) slots.release();
        held = false;
        await this.controls.sleep(ms);
        if (this.controls.live()) held = await slots.acquire(signal);
        if (!held) controller.abort();
      },
    };
    try {
      // The group's filter, transforms and route, run again on every attempt: a failing function fails the
      // attempt like the sink would (retries, then onFailure, its error in the dead letter).
      const outputs = this.scope.pipeline.empty ? batch : await this.scope.pipeline.apply(batch);
      // One message may have become several: the pieces a sink takes whole, in order (a message's
      // outputs share its offset; a database sink's pieces are never cut, having no maxBatchSize).
      const size = sink.maxBatchSize ?? outputs.length;
      for (let i = 0; i < outputs.length; i += size) {
        await sink.deliver(size >= outputs.length ? outputs : outputs.slice(i, i + size), context);
      }
    } finally {
      if (held) slots.release();
      held = false;
    }
  }

  /** The backoff after a failed attempt, or the wait the sink asked for (Retry-After), at most the max backoff. */
  private retryDelay(error: Error, attempt: number): number {
    const { initialBackoffMs, maxBackoffMs } = this.scope.config.retry;
    const asked = (error as SinkFailure).retryAfterMs;
    if (typeof asked === 'number' && Number.isFinite(asked)) return Math.min(maxBackoffMs, Math.max(0, asked));
    return attempt === Infinity ? maxBackoffMs : backoffDelay(attempt, initialBackoffMs, maxBackoffMs);
  }
}
