export { ConfigModule, TRIBUTARY_CONFIG } from './config.module';
export { ConfigError, loadConfig } from './config.loader';
export type { CapturedTable, GroupConfig, LogLevel, SourceConfig, TopicConfig, TributaryConfig } from './tributary-config';
