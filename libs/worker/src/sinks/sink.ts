import type { ConsumedMessage } from '@tributary/consumer-groups';

/**
 * Where a group's messages go. `deliver` gets one partition's messages in offset order and must be
 * all-or-nothing from the runtime's point of view: resolve once every message is handled, reject
 * otherwise (the batch is retried, so a sink must tolerate seeing a message again).
 */
export interface Sink {
  readonly kind: string;
  deliver(batch: ConsumedMessage[]): Promise<void>;
  /**
   * Sinks that store their own offsets (exactly-once database sinks) say where a partition resumes;
   * the runtime skips ahead to it when it takes the partition over.
   */
  storedPosition?(topic: string, partition: number): Promise<bigint | undefined>;
  /** True for sinks whose failures must never skip a message (a database that is down or mismatched). */
  readonly blockOnFailure?: boolean;
  close?(): Promise<void>;
}
