import type { SnapshotRow } from '@tributary/topic-log';

/** One message of a partition as consumers and sinks see it. */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: bigint;
  key: string | null;
  /** The envelope JSON text, exactly as captured. */
  envelope: string;
  appendedAt: Date;
  /** The topic's partition count (a truncate, written to every partition, is applied per partition). */
  partitions?: number;
  /** The incarnation of the topic the message belongs to (topicIncarnation in libs/topic-log): a re-created topic is a new one. */
  topicIncarnation?: string;
  /** An `r` message of a snapshot: its row's stored fields, for sinks that write them without the envelope. */
  snapshotRow?: SnapshotRow;
}
