import {
  ConsumerGroupEntity,
  GroupEventEntity,
  GroupMemberEntity,
  GroupOffsetEntity,
  PartitionLeaseEntity,
} from './consumer-group.entity';
import { DeadLetterEntity } from './dead-letter.entity';
import { MessageBatchEntity } from './message-batch.entity';
import { ApiTokenEntity } from './api-token.entity';
import { BackfillEntity } from './backfill.entity';
import { SourceCheckpointEntity } from './source-checkpoint.entity';
import { SourceEntity } from './source.entity';
import { SourceTableEntity } from './source-table.entity';
import { TopicPartitionEntity } from './topic-partition.entity';
import { TopicEntity } from './topic.entity';
import { WebhookAttemptEntity, WebhookSubscriptionEntity } from './webhook.entity';

export {
  ApiTokenEntity,
  BackfillEntity,
  ConsumerGroupEntity,
  DeadLetterEntity,
  GroupEventEntity,
  GroupMemberEntity,
  GroupOffsetEntity,
  MessageBatchEntity,
  PartitionLeaseEntity,
  SourceCheckpointEntity,
  SourceEntity,
  SourceTableEntity,
  TopicEntity,
  TopicPartitionEntity,
  WebhookAttemptEntity,
  WebhookSubscriptionEntity,
};
export const ENTITIES = [
  TopicEntity,
  TopicPartitionEntity,
  MessageBatchEntity,
  SourceCheckpointEntity,
  ConsumerGroupEntity,
  GroupMemberEntity,
  PartitionLeaseEntity,
  GroupOffsetEntity,
  GroupEventEntity,
  DeadLetterEntity,
  SourceTableEntity,
  WebhookAttemptEntity,
  WebhookSubscriptionEntity,
  ApiTokenEntity,
  BackfillEntity,
  SourceEntity,
];
