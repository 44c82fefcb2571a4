import type { PartitionRef } from './assignment';

/** `earliest`, `latest`, or an ISO 8601 time: the first message appended at or after it. */
export type StartFrom = string;
export type ResetPolicy = 'earliest' | 'latest' | 'fail';

export interface GroupDefinition {
  name: string;
  /** Topic names or glob patterns (`*` matches anything). */
  topics: string[];
  startFrom: StartFrom;
  resetPolicy: ResetPolicy;
  sessionTimeoutMs: number;
  /**
   * The version of the group's row this member was started for. Set, it fences the member: once the
   * group is changed or deleted and re-created, its heartbeats and commits are refused, so a member
   * still running the old settings (another sink) stops before its replacement takes over.
   */
  incarnation?: string;
}

/** A partition this member owns, under the lease generation it was granted with. */
export interface Lease {
  topic: string;
  partition: number;
  generation: bigint;
  nextOffset: bigint;
  status: 'ok' | 'failed' | 'blocked';
  /** The topic's incarnation (topicIncarnation in libs/topic-log): a re-created topic's partitions are new leases. */
  topicIncarnation?: string;
}

export class StaleMemberError extends Error {
  constructor(group: string, topic: string, partition: number, generation: bigint) {
    super(
      `group "${group}": commit for ${topic}[${partition}] under generation ${generation} rejected: the partition has a newer owner`,
    );
    this.name = 'StaleMemberError';
  }
}

/** The group was deleted, or changed since the member started: the member stops (its replacement runs the new settings). */
export class GroupDeletedError extends Error {
  constructor(
    readonly group: string,
    readonly reason: 'deleted' | 'changed' = 'deleted',
  ) {
    super(reason === 'deleted' ? `group "${group}" no longer exists` : `group "${group}" changed since this member started`);
    this.name = 'GroupDeletedError';
  }
}

export interface HeartbeatResult {
  /** Partitions this member owns now (including ones it should hand over). */
  owned: Lease[];
  /** Owned partitions the assignment gives to someone else: finish, commit, then release them. */
  revoke: PartitionRef[];
  members: number;
  /** An operator paused the group: members keep their leases but consume nothing. */
  paused: boolean;
}

export interface PartitionBounds {
  /** First retained offset (equal to `end` when the partition is empty). */
  earliest: bigint;
  /** Log end offset: the next offset to be written. */
  end: bigint;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  committed: string;
  end: string;
  lag: string;
  owner: string | null;
  generation: string;
  status: string;
  statusDetail: string | null;
}
