import type { GroupConfig, SourceFileConfig, TopicDefaults } from './config.schema';

export type { GroupConfig };

export interface CapturedTable {
  schema: string;
  /** `*` stands for every table of the schema. */
  table: string;
  /** Topic override; default `<source>.<schema>.<table>`. */
  topic?: string;
  /** The publication's column list for the table: only these columns are published (`exclude`: all but these). */
  columns?: string[];
  exclude?: string[];
  /** The publication's row filter for the table: only rows it holds for are published. */
  where?: string;
}

export interface SourceConfig {
  name: string;
  /** Resolved connection URL (the embedded database when none was configured). */
  url: string;
  tables: CapturedTable[];
  slot: string;
  publication: string;
  heartbeatIntervalMs: number;
  /** Postgres 17+: the slot is created (or altered) with failover = true; undefined means false. */
  failover?: boolean;
  batchSize: number;
  maxBatchDelayMs: number;
  /** Snapshot a table's existing rows when it is first captured; undefined means `initial`. */
  snapshot?: 'initial' | 'never';
  snapshotChunkSize?: number;
  snapshotChunkDelayMs?: number;
  snapshotMaxRowsPerSecond?: number;
  /** statement_timeout of a chunk read; undefined means 300,000. */
  snapshotStatementTimeoutMs?: number;
}

export interface TopicConfig {
  name: string;
  partitions: number;
  /** null: kept forever. */
  retentionMs: number | null;
  retentionBytes: number | null;
}

export type LogLevel = 'error' | 'warn' | 'log' | 'debug' | 'verbose';
export type LogFormat = 'text' | 'json';

/** The whole validated configuration, built once at start-up. */
export interface TributaryConfig {
  /** Platform store URL; undefined means "start the embedded Postgres". */
  databaseUrl?: string;
  embedded: { dataDir: string; port: number };
  /**
   * `adminToken`: the first admin API token; when unset and no token was created, the API is open (local use).
   * `allowedHosts`: `Host` names answered besides loopback names and IP addresses (lowercase; `.domain` for
   * subdomains, `*` for any). `allowedOrigins`: browser origins allowed to call the API (CORS); none by default.
   * `consoleDir`: the built web console served at /console/ (default: `dist/console` of the installation).
   */
  api: { host: string; port: number; adminToken?: string; allowedHosts: string[]; allowedOrigins: string[]; consoleDir?: string };
  logLevel: LogLevel;
  /** `text` (Nest's lines, for people) or `json` (one object per line, for log collectors). */
  logFormat: LogFormat;
  /** Processes without the api role serve /metrics on this port when set (same host as the API). */
  metricsPort?: number;
  /** /metrics without a token even when authentication is on. */
  metricsPublic: boolean;
  /** The source-derived gauges are read at most this often, whatever the number of scrapes. */
  metricsSourceIntervalMs: number;
  topicDefaults: TopicDefaults;
  /** The file's sources, resolved. What runs is the catalog in the platform database, which the file seeds. */
  sources: SourceConfig[];
  /** Where a source without a URL captures from: the platform database (or the embedded one). */
  defaultSourceUrl: string;
  /** No platform database URL configured: the local, embedded setup (webhooks may reach loopback). */
  localDefaults: boolean;
  /** The file's sources and groups as written (defaults filled in): what start-up applies to the catalog. */
  declared: { sources: SourceFileConfig[]; groups: GroupConfig[] };
  topics: TopicConfig[];
  groups: GroupConfig[];
  retentionCheckIntervalMs: number;
  /** Where the YAML came from, for messages. */
  configFile?: string;
}
