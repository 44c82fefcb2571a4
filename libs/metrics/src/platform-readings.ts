/** One partition of a group: log end offset minus committed offset, and `ok` or why it is blocked. */
export interface GroupPartitionReading {
  group: string;
  topic: string;
  partition: number;
  /** A bigint, as the database returns it. */
  lag: string;
  status: string;
}

export interface GroupEventCount {
  group: string;
  kind: string;
  count: number;
}

export interface DeadLetterCount {
  group: string;
  count: number;
}

export interface PartitionEndReading {
  topic: string;
  partition: number;
  /** The next offset to be written (a bigint, as the database returns it). */
  endOffset: string;
}

/** What a source said when it was last asked. */
export interface SourceReading {
  source: string;
  reachable: boolean;
  lagBytes?: number;
  /** Configured tables that did not exist at the reading (dropped, renamed): `schema.table`. */
  missingTables: string[];
  /** The slot is lost, about to be (`unreserved`), or has less than a fifth of max_slot_wal_keep_size left. */
  slotAtRisk?: boolean;
  /** WAL that can still be written before the slot is lost (when max_slot_wal_keep_size is set). */
  safeWalBytes?: number;
}

/**
 * What the platform gauges read at every scrape, each answered by the library that owns the data (its
 * repository or reading), composed by the runtime: this library names and labels the series and knows
 * no table.
 */
export abstract class PlatformReadings {
  abstract groupPartitions(): Promise<GroupPartitionReading[]>;
  abstract groupEvents(): Promise<GroupEventCount[]>;
  abstract deadLetters(): Promise<DeadLetterCount[]>;
  abstract partitionEnds(): Promise<PartitionEndReading[]>;
  /** The sources' last background reading: a scrape never connects to a source. */
  abstract sources(): Promise<SourceReading[]>;
}
