/** One message to append. `envelope` is one JSON object's text, rendered once by the producer. */
export interface AppendRecord {
  topic: string;
  partition: number;
  key: string | null;
  envelope: string;
  sourceLsn: bigint | null;
  txId: string | null;
  /** The source transaction's commit time, epoch milliseconds. */
  commitTimeMs: number | null;
}

export interface StoredMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** The envelope's JSON text, exactly as captured (parse it with a big-number-aware parser if needed). */
  envelope: string;
  /** `X/Y` form. */
  sourceLsn: string | null;
  txId: string | null;
  commitTime: string | null;
  appendedAt: string;
}

export interface TopicSettings {
  partitions: number;
  retentionMs: number | null;
  retentionBytes: number | null;
}
