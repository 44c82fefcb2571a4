export type StartFrom = 'earliest' | 'latest' | string;
export type ResetPolicy = 'earliest' | 'latest' | 'fail';

export interface GroupDefinition {
  name: string;
  /** Topic names or glob patterns (`*` matches anything). */
  topics: string[];
  startFrom: StartFrom;
  resetPolicy: ResetPolicy;
  sessionTimeoutMs: number;
}

/** A partition this member owns, under the lease generation it was granted with. */
export interface Lease {
  topic: string;
  partition: number;
  generation: bigint;
  nextOffset: bigint;
  status: 'ok' | 'failed' | 'blocked';
}

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
}

export class StaleMemberError extends Error {
  constructor(group: string, topic: string, partition: number, generation: bigint) {
    super(
      `group "${group}": commit for ${topic}[${partition}] under generation ${generation} rejected: the partition has a newer owner`,
    );
    this.name = 'StaleMemberError';
  }
}
