export { ConfigModule, TRIBUTARY_CONFIG } from './config.module';
export { ConfigError } from './config-error';
export { loadConfig, resolveGroup, resolveSource } from './config-loader';
export { parseConfigYaml } from './config-yaml';
export {
  DATABASE_SINK_DEFAULT_BATCH_SIZE,
  DATABASE_SINK_DEFAULT_CONCURRENCY,
  databaseGroupDefaults,
} from './database-sink-defaults';
export { envelopeFormatSchema, type EnvelopeFormat } from './envelope-format';
export { whereShapeProblem } from './where-shape';
export { foreignHostName } from './host-names';
export {
  NATS_DEFAULT_SUBJECT,
  NATS_SUBJECT_VARIABLES,
  natsSinkSchema,
  streamSubjectsFor,
  subjectTemplateProblem,
  type NatsSinkConfig,
} from './nats-sink.schema';
export { redactUrl } from './redact-url';
export { generateWebhookSecret } from './webhook-secret';
export {
  capturedTableSchema,
  fileSchema,
  groupSchema,
  MAX_RETENTION_MS,
  sourceSchema,
  splitTableName,
  topicSchema,
  type SourceFileConfig,
  type TopicDefaults,
} from './config.schema';
export type {
  CapturedTable,
  GroupConfig,
  LogFormat,
  LogLevel,
  SourceConfig,
  TopicConfig,
  TributaryConfig,
} from './tributary-config';
export {
  WEBHOOK_DEFAULT_MEMBERS,
  WEBHOOK_OPERATIONS,
  WEBHOOK_RETRY_DEFAULTS,
  webhookGroupDefaults,
  webhookSinkSchema,
  type WebhookOperation,
  type WebhookSinkConfig,
} from './webhook-sink.schema';
export { restoreWriteOnlySecrets, SECRET_MASK, storedSecretsOf, WriteOnlySecretError } from './write-only-secrets';
export {
  builtinTransformSchema,
  messageFilterSchema,
  OPERATIONS,
  routeSchema,
  type BuiltinTransform,
  type FilterCondition,
  type MessageFilterConfig,
  type RouteConfig,
  type TransformLimits,
} from './message-pipeline.schema';
export { compileFunctionSource } from './transform-source';
export { BROKER_TEMPLATE_FIELDS, redisSinkSchema, templateFields, type RedisSinkConfig } from './redis-sink.schema';
export { rabbitmqSinkSchema, type RabbitmqSinkConfig } from './rabbitmq-sink.schema';
