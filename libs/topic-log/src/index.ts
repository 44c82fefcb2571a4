export { BATCH_MESSAGES, EARLIEST_OFFSET, MESSAGES_CHANNEL, TopicLog } from './topic-log';
export { etagOf, TopicRepository, type TopicInfo } from './topic.repository';
export { TopicLogModule } from './topic-log.module';
export { partitionForKey, murmur2 } from './partitioner';
export type { AppendRecord, StoredMessage, TopicSettings } from './topic-log.types';
export { formatLsn, parseLsn } from './lsn';
export { RetentionJanitor, type RetentionResult } from './retention.janitor';
