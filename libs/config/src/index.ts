export { ConfigModule, TRIBUTARY_CONFIG } from './config.module';
export { ConfigError, loadConfig } from './config.loader';
export { groupSchema, topicSchema } from './config.schema';
export type { CapturedTable, GroupConfig, LogLevel, SourceConfig, TopicConfig, TributaryConfig } from './tributary-config';
export {
  WEBHOOK_DEFAULT_MEMBERS,
  WEBHOOK_OPERATIONS,
  WEBHOOK_RETRY_DEFAULTS,
  webhookGroupDefaults,
  webhookSinkSchema,
  type WebhookOperation,
  type WebhookSinkConfig,
} from './webhook-sink.schema';
