import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError } from './config-error';
import { envSchema, fileSchema } from './config.schema';
import type { GroupConfig, SourceFileConfig } from './config.schema';
import { parseConfigYaml } from './config-yaml';
import type { CapturedTable, SourceConfig, TributaryConfig } from './tributary-config';

const DEFAULT_CONFIG_FILE = 'tributary.yaml';
/** The source used when the embedded default runs without a YAML file. */
const EMBEDDED_SOURCE = { name: 'default', tables: ['public.*'] };

/**
 * Reads environment variables and the optional YAML file, validates both, and returns one typed
 * object. Throws ConfigError naming every bad key and why; nothing starts with a bad config.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): TributaryConfig {
  const envResult = envSchema.safeParse(env);
  if (!envResult.success) throw new ConfigError(formatIssues('environment', envResult.error));
  const e = envResult.data;

  const configFile = e.TRIBUTARY_CONFIG ? resolve(cwd, e.TRIBUTARY_CONFIG) : resolve(cwd, DEFAULT_CONFIG_FILE);
  let raw: unknown = {};
  let usedFile: string | undefined;
  if (existsSync(configFile)) {
    usedFile = configFile;
    try {
      raw = parseConfigYaml(readFileSync(configFile, 'utf8'), env, configFile) ?? {};
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw new ConfigError(`${configFile}: not valid YAML: ${(error as Error).message}`);
    }
  } else if (e.TRIBUTARY_CONFIG) {
    throw new ConfigError(`TRIBUTARY_CONFIG: file ${configFile} does not exist`);
  }
  if (!usedFile && !e.TRIBUTARY_DATABASE_URL) raw = { sources: [EMBEDDED_SOURCE] };

  const fileResult = fileSchema.safeParse(raw);
  if (!fileResult.success) throw new ConfigError(formatIssues(usedFile ?? 'configuration', fileResult.error));
  const file = fileResult.data;

  const databaseUrl = e.TRIBUTARY_DATABASE_URL;
  const embeddedUrl = `postgres://postgres@127.0.0.1:${e.TRIBUTARY_EMBEDDED_PORT}/tributary`;
  const defaultSourceUrl = databaseUrl ?? embeddedUrl;
  file.sources.forEach((s, i) => {
    if (!s.url && !/^postgres(ql)?:\/\//.test(defaultSourceUrl)) {
      throw new ConfigError(`${usedFile}: sources[${i}].url: must start with postgres:// or postgresql://`);
    }
  });
  const localDefaults = !databaseUrl;

  return {
    databaseUrl,
    embedded: { dataDir: resolve(cwd, e.TRIBUTARY_DATA_DIR), port: e.TRIBUTARY_EMBEDDED_PORT },
    api: {
      host: e.TRIBUTARY_API_HOST,
      port: e.TRIBUTARY_API_PORT,
      adminToken: e.TRIBUTARY_ADMIN_TOKEN,
      allowedHosts: e.TRIBUTARY_API_ALLOWED_HOSTS,
      allowedOrigins: e.TRIBUTARY_API_ALLOWED_ORIGINS,
      ...(e.TRIBUTARY_CONSOLE_DIR ? { consoleDir: resolve(cwd, e.TRIBUTARY_CONSOLE_DIR) } : {}),
    },
    logLevel: e.TRIBUTARY_LOG_LEVEL,
    logFormat: e.TRIBUTARY_LOG_FORMAT,
    metricsPort: e.TRIBUTARY_METRICS_PORT,
    metricsPublic: e.TRIBUTARY_METRICS_PUBLIC === 'true',
    metricsSourceIntervalMs: e.TRIBUTARY_METRICS_SOURCE_INTERVAL_MS,
    topicDefaults: file.topicDefaults,
    sources: file.sources.map((s) => resolveSource(s, defaultSourceUrl)),
    defaultSourceUrl,
    localDefaults,
    declared: { sources: file.sources, groups: file.groups },
    topics: file.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions ?? file.topicDefaults.partitions,
      retentionMs: t.retentionMs === undefined ? file.topicDefaults.retentionMs : t.retentionMs,
      retentionBytes: t.retentionBytes === undefined ? file.topicDefaults.retentionBytes : t.retentionBytes,
    })),
    groups: file.groups.map((g) => resolveGroup(g, localDefaults)),
    retentionCheckIntervalMs: file.retentionCheckIntervalMs,
    configFile: usedFile,
  };
}

/** A source as capture runs it: defaults filled in; no URL means the platform's default source database. */
export function resolveSource(s: SourceFileConfig, defaultUrl: string): SourceConfig {
  return {
    name: s.name,
    url: s.url ?? defaultUrl,
    tables: s.tables.map(toCapturedTable),
    slot: s.slot ?? `tributary_${s.name}`,
    publication: s.publication ?? `tributary_${s.name}`,
    heartbeatIntervalMs: s.heartbeatIntervalMs,
    failover: s.failover,
    batchSize: s.batchSize,
    maxBatchDelayMs: s.maxBatchDelayMs,
    snapshot: s.snapshot,
    snapshotChunkSize: s.snapshotChunkSize,
    snapshotChunkDelayMs: s.snapshotChunkDelayMs,
    snapshotMaxRowsPerSecond: s.snapshotMaxRowsPerSecond,
    snapshotStatementTimeoutMs: s.snapshotStatementTimeoutMs,
  };
}

/** Webhooks may reach private networks by default only in the local (embedded database) setup. */
export function resolveGroup(g: GroupConfig, localDefaults: boolean): GroupConfig {
  return g.sink.type === 'webhook' && g.sink.allowPrivateNetworks === undefined
    ? { ...g, sink: { ...g.sink, allowPrivateNetworks: localDefaults } }
    : g;
}

function toCapturedTable(entry: SourceFileConfig['tables'][number]): CapturedTable {
  const spec = typeof entry === 'string' ? { table: entry } : entry;
  const [schema, table] = spec.table.split('.');
  const out: CapturedTable = { schema, table, topic: spec.topic };
  // Only what is set: a table without them compares equal to one written before they existed.
  if ('columns' in spec && spec.columns) out.columns = spec.columns;
  if ('exclude' in spec && spec.exclude) out.exclude = spec.exclude;
  if ('where' in spec && spec.where !== undefined) out.where = spec.where;
  return out;
}

function formatIssues(where: string, error: z.ZodError): string {
  const lines = error.issues.map((issue) => `  - ${formatPath(issue.path)}: ${issue.message}`);
  return `Invalid ${where}:\n${lines.join('\n')}`;
}

function formatPath(path: PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}
