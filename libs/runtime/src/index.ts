export { bootstrap, createApp, runMain, ALL_ROLES, type Role } from './bootstrap';
export { StandaloneMetrics } from './standalone-metrics.service';
export { scrubSecrets } from './logging/secret-scrubber';
export { jsonLoggerOptions } from './logging/json-logger-params';
export { RedactingConsoleLogger } from './logging/redacting-console-logger';
