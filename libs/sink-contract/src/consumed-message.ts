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
  /**
   * Where the group's `route` sends this message, when it has one: a database sink's target table
   * (`schema.table` or `table`), a broker sink's subject, stream key or routing key, a webhook's URL path
   * (appended to the configured URL). Absent: the sink's own default for the message's table.
   */
  route?: string;
}
