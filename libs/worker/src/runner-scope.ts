import type { Logger } from '@nestjs/common';
import type { GroupConfig } from '@tributary/config';
import type { GroupMember, GroupRepository, MessageNotifier, OwnedPartition } from '@tributary/consumer-groups';
import type { ConcurrencySlots } from './concurrency-slots';
import type { MessagePipeline } from '@tributary/message-pipeline';
import type { ConsumedMessage, Sink } from '@tributary/sink-contract';
import type { TargetRecovery } from './target-recovery';

export interface RunnerStats {
  delivered: number;
  deadLettered: number;
  retries: number;
}

/** What one member's partition loops share: its settings, its sink and the slots to call it, its state. */
export interface RunnerScope {
  readonly member: GroupMember;
  readonly config: GroupConfig;
  readonly repo: GroupRepository;
  readonly sink: Sink;
  /** The group's filter, transforms and route, applied to each batch before the sink gets it. */
  readonly pipeline: MessagePipeline;
  readonly notifier: MessageNotifier;
  /** Deliver calls in flight across this member's partitions (Sink.concurrency). */
  readonly slots: ConcurrencySlots;
  /** Wakes the partitions in a retry backoff once the target answers again after failing for several. */
  readonly recovery: TargetRecovery;
  readonly stats: RunnerStats;
  readonly logger: Logger;
  /** Aborted by stop(): calls off the sink's other calls (storedPosition). */
  readonly stopSignal: AbortSignal;
  /** Partitions (per ownership) whose start was checked against the sink's own stored offset. */
  readonly synced: WeakSet<OwnedPartition>;
  readonly onDelivered?: (batch: ConsumedMessage[]) => void;
  stopping(): boolean;
  /** Records a group event once per partition incarnation in this runner (every re-ownership would repeat it). */
  recordOnce(p: OwnedPartition, kind: string, detail: string): Promise<void>;
}
