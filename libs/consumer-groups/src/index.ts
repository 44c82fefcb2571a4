export { OffsetTracker } from './offset-tracker';
export { assignPartitions, partitionId, type PartitionRef } from './assignment';
export { GroupRepository } from './group.repository';
export { globToLike } from './topic-patterns';
export type { HeartbeatResult, PartitionBounds, PartitionLag } from './group-types';
export { GroupMember, type OwnedPartition } from './group-member';
export {
  GroupAdminError,
  GroupAdminRepository,
  type GroupHealth,
  type OffsetReset,
  type ResetTarget,
} from './group-admin.repository';
export { GroupGaugesRepository } from './group-gauges.repository';
export { MessageNotifier } from './message-notifier';
export { DeadLetterRepository, type DeadLetter } from './dead-letter.repository';
export { PullMember, type AckResult, type PulledMessage } from './pull-member';
export {
  GroupDeletedError,
  StaleMemberError,
  type GroupDefinition,
  type Lease,
  type ResetPolicy,
  type StartFrom,
} from './group-types';
