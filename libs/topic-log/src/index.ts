export {
  batchesInRange,
  EARLIEST_OFFSET,
  MESSAGES_CHANNEL,
  offsetAppendedSince,
  PreparedAppend,
  type RowBatch,
  TopicLog,
  topicIncarnation,
} from './topic-log';
export { copyField, KeyRenderer, RowBatchRenderer, type RowBatchFormat, type SnapshotRow } from './row-batch';
export {
  BATCH_COLUMNS,
  BATCH_COLUMNS_WITH_SOURCE,
  lazyEnvelope,
  splitJsonArray,
  unpackBatches,
  type BatchMessage,
} from './record-batch';
export { etagOf, TopicRepository, type TopicInfo } from './topic.repository';
export { TopicLogModule } from './topic-log.module';
export { keyHash, murmur2, partitionForKey } from './partitioner';
export type { AppendRecord, StoredMessage, TopicSettings } from './topic-log.types';
export { RetentionJanitor, type RetentionResult } from './retention.janitor';
