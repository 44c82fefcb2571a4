import type { ConsumedMessage } from './consumed-message';

/** What the runtime tells a sink about one delivery attempt. */
export interface DeliveryContext {
  /** 1 for the first try of this batch, counting up across retries (and on while a partition is blocked). */
  attempt: number;
  /**
   * Aborted when the runner stops or loses the partition: a sink should end its own waits (rate limits,
   * a paused endpoint) and reject. A request already in flight may finish.
   */
  signal: AbortSignal;
  /**
   * Waits `ms` the way the runtime waits out a backoff: membership stays alive (heartbeats), and it
   * returns early when the runner stops or loses the partition (then `signal` is aborted).
   */
  wait?: (ms: number) => Promise<void>;
}

/** Optional fields a sink's error may carry to steer the runtime's retries. */
export interface SinkFailure extends Error {
  /** Wait this long before the next attempt instead of the backoff (a `Retry-After`), capped at the max backoff. */
  retryAfterMs?: number;
  /**
   * Retrying or dead-lettering makes no sense now (the destination is disabled): the partition blocks at
   * once, whatever the failure policy, and is tried again every `retryAfterMs` (or the max backoff).
   */
  blockPartition?: boolean;
}

/**
 * Where a group's messages go. `deliver` gets one partition's messages in offset order and must be
 * all-or-nothing from the runtime's point of view: resolve once every message is handled, reject
 * otherwise (the batch is retried, so a sink must tolerate seeing a message again).
 */
export interface Sink {
  readonly kind: string;
  deliver(batch: ConsumedMessage[], context?: DeliveryContext): Promise<void>;
  /**
   * Sinks that store their own offsets (exactly-once database sinks) say where a partition resumes,
   * and of which incarnation of the topic (null: not recorded); the runtime skips ahead to it when it
   * takes the partition over, unless it belongs to an earlier topic of the same name. An abort of
   * `signal` (the runner stops) must end the call at once.
   */
  storedPosition?(
    topic: string,
    partition: number,
    signal?: AbortSignal,
  ): Promise<{ nextOffset: bigint; topicIncarnation: string | null } | undefined>;
  /** True for sinks whose failures must never skip a message (a database that is down or mismatched). */
  readonly blockOnFailure?: boolean;
  /** The most messages one `deliver` call takes; the runtime cuts fetched batches to it (one request each). */
  readonly maxBatchSize?: number;
  /**
   * When a batch of several messages fails every attempt, the runtime retries its messages one by one so
   * only a poison message meets the failure policy. False: the failure policy applies to the batch whole.
   */
  readonly isolateFailures?: boolean;
  /**
   * With `maxBatchSize` 1: how many messages of different keys one partition may have in flight at once,
   * each key's still one after the other in offset order (default 1: one at a time).
   */
  readonly keyLanes?: number;
  /** How many deliver calls may run at once across the member's partitions (default 1); a partition's own are bounded by `keyLanes`. */
  readonly concurrency?: number;
  close?(): Promise<void>;
}
