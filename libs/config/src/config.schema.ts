import { z } from 'zod';
import { DATABASE_SINK_DEFAULT_CONCURRENCY, databaseGroupDefaults } from './database-sink-defaults';
import { natsSinkSchema } from './nats-sink.schema';
import { rabbitmqSinkSchema } from './rabbitmq-sink.schema';
import { redisSinkSchema } from './redis-sink.schema';
import { webhookGroupDefaults, webhookSinkSchema } from './webhook-sink.schema';
import { parsesAsUrl, URL_PARSE_ERROR } from './url-shape';
import { whereShapeProblem } from './where-shape';
import { pipelineKeys } from './message-pipeline.schema';

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,200}$/;
/** `schema.table`, or `schema.*` for every table of a schema (present and future). */
const TABLE_PATTERN = /^[A-Za-z_][A-Za-z0-9_$]*\.(\*|[A-Za-z_][A-Za-z0-9_$]*)$/;

/**
 * A captured table or schema. The schema `tributary` is refused on every source: it is where the platform
 * keeps its own tables (stored passwords among them), a source may be the platform database itself (the
 * embedded default is), and capturing them would publish those secrets and feed capture on its own writes.
 */
export const capturedTableSchema = z
  .string()
  .regex(TABLE_PATTERN, "must be 'schema.table' or 'schema.*'")
  .refine((t) => t.slice(0, t.indexOf('.')).toLowerCase() !== 'tributary', {
    message: "the schema 'tributary' holds the platform's own tables (stored passwords among them) and is never captured",
  });

const SOURCE_COLUMN = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
const columnList = z
  .array(z.string().regex(SOURCE_COLUMN, 'must be a column name'))
  .min(1)
  .refine((names) => new Set(names).size === names.length, 'must not name a column twice');

/**
 * A captured table in object form. `columns` (or `exclude`) and `where` become the publication's column list
 * and row filter (Postgres 15+): what they leave out is never decoded, stored or sent, and snapshots read
 * the same columns and rows (docs/configuration.md#columns-and-row-filters). They are checked against the table on
 * the source before anything changes (libs/capture/src/table-filters.ts).
 */
const tableObject = z
  .object({
    table: capturedTableSchema,
    topic: z.string().regex(TOPIC_NAME, 'must be 1-200 letters, digits, dots, dashes or underscores').optional(),
    columns: columnList.optional(),
    exclude: columnList.optional(),
    where: z
      .string()
      .superRefine((where, ctx) => {
        const problem = whereShapeProblem(where);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
  })
  .strict()
  .superRefine((entry, ctx) => {
    if (entry.columns && entry.exclude) {
      ctx.addIssue({ code: 'custom', path: ['exclude'], message: 'give columns or exclude, not both' });
    }
    if (entry.table.endsWith('.*')) {
      for (const key of ['columns', 'exclude', 'where'] as const) {
        if (entry[key] === undefined) continue;
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: "applies to one table, not to 'schema.*' (Postgres' column lists and row filters are per table)",
        });
      }
    }
  });

const tableEntry = z.union([capturedTableSchema, tableObject]);

/**
 * A table with a column list or row filter must not also be published through its schema's `schema.*`
 * (Postgres refuses a column list for a table of a published schema), and a table is listed once.
 */
function checkTableEntries(tables: Array<z.infer<typeof tableEntry>>, ctx: z.RefinementCtx): void {
  const names = tables.map((t) => (typeof t === 'string' ? t : t.table));
  const schemas = new Set(names.filter((n) => n.endsWith('.*')).map((n) => n.slice(0, -2)));
  tables.forEach((t, i) => {
    const name = names[i];
    if (names.indexOf(name) !== i) ctx.addIssue({ code: 'custom', path: ['tables', i], message: `${name} is listed twice` });
    if (typeof t === 'string' || (!t.columns && !t.exclude && t.where === undefined)) return;
    if (schemas.has(name.slice(0, name.indexOf('.')))) {
      ctx.addIssue({
        code: 'custom',
        path: ['tables', i, t.where !== undefined ? 'where' : t.columns ? 'columns' : 'exclude'],
        message: `${name}'s schema is also captured as '${name.slice(0, name.indexOf('.'))}.*': a column list or row filter needs the table listed alone`,
      });
    }
  });
}

export const sourceSchema = z
  .object({
    name: z.string().regex(IDENTIFIER, 'must be a lowercase identifier (letters, digits, underscores)').max(40),
    /** Connection URL; omitted means the embedded Postgres (or the platform database). */
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\/[^\s]+$/, 'must start with postgres:// or postgresql://')
      .refine(parsesAsUrl, URL_PARSE_ERROR)
      .optional(),
    tables: z.array(tableEntry).min(1, 'must list at least one table'),
    slot: z.string().regex(IDENTIFIER).max(63).optional(),
    publication: z.string().regex(IDENTIFIER).max(63).optional(),
    heartbeatIntervalMs: z.number().int().min(100).max(3_600_000).default(10_000),
    /**
     * Postgres 17+: the slot is a failover slot (`failover = true`), synced to standbys that run with
     * `sync_replication_slots = on`, so capture can go on from a promoted standby (docs/operations.md).
     * Left out means false.
     */
    failover: z.boolean().optional(),
    /**
     * Messages buffered before a batch is appended to the topic tables. It bounds capture's memory: with 2,000
     * a 1,000,000-row source transaction peaked at 240-260 MB RSS, with 5,000 at 265-299 MB, at the edge of the 300 MB
     * budget (docs/benchmarks.md); throughput barely differs.
     */
    batchSize: z.number().int().min(1).max(100_000).default(2_000),
    /**
     * How long a finished source transaction may wait to share a platform commit with later ones. 5 ms keeps
     * end-to-end latency low (p50 ~10 ms at 2,000 rows/s instead of ~20 ms with 20) and costs no measurable
     * throughput: under a backlog each platform commit still gathers every transaction decoded meanwhile
     * (docs/benchmarks.md). 0 would commit every source transaction on its own.
     */
    maxBatchDelayMs: z.number().int().min(0).max(10_000).default(5),
    /** `initial`: a table's existing rows are snapshotted when it is first captured (docs/snapshots.md). */
    snapshot: z.enum(['initial', 'never']).default('initial'),
    /** Rows per snapshot chunk (keyset pagination on the primary key). */
    snapshotChunkSize: z.number().int().min(1).max(100_000).default(50_000),
    /** Pause between snapshot chunks. */
    snapshotChunkDelayMs: z.number().int().min(0).max(3_600_000).default(0),
    /** Upper bound of the snapshot read rate; omitted means unthrottled. */
    snapshotMaxRowsPerSecond: z.number().int().min(1).optional(),
    /** How long one chunk read may run (statement_timeout), lock waits included, before the backfill fails. */
    snapshotStatementTimeoutMs: z.number().int().min(1_000).max(86_400_000).default(300_000),
  })
  .strict()
  .superRefine((source, ctx) => checkTableEntries(source.tables, ctx));

/**
 * The longest time-based retention: 100 years. Larger values overflow `now() - interval` in the retention
 * janitor's arithmetic (Postgres intervals end near 178 million years, timestamps at 294276 AD); `null`
 * keeps messages forever.
 */
export const MAX_RETENTION_MS = 100 * 365 * 24 * 3600 * 1000;

export const topicSchema = z
  .object({
    name: z.string().regex(TOPIC_NAME, 'must be 1-200 letters, digits, dots, dashes or underscores'),
    partitions: z.number().int().min(1).max(1024).optional(),
    /** null: kept forever; left out: topicDefaults. */
    retentionMs: z.number().int().min(1).max(MAX_RETENTION_MS).nullable().optional(),
    retentionBytes: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullable().optional(),
  })
  .strict();

export const topicDefaultsSchema = z
  .object({
    partitions: z.number().int().min(1).max(1024).default(4),
    retentionMs: z
      .number()
      .int()
      .min(1)
      .max(MAX_RETENTION_MS)
      .default(7 * 24 * 3600 * 1000),
    retentionBytes: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullable().default(null),
  })
  .strict();

const GROUP_NAME = /^[a-z0-9][a-z0-9_.-]{0,99}$/;
const COLUMN = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

const SOURCE_TABLE = /^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$/;
/** Plain identifiers only, so the one dot of `schema.table` is never part of a name (splitTableName). */
const TARGET_TABLE = {
  postgres: [/^([A-Za-z_][A-Za-z0-9_$]{0,62}\.)?[A-Za-z_][A-Za-z0-9_$]{0,62}$/, "must be 'table' or 'schema.table'"],
  // The database is the URL's: a dotted target would be one table whose name holds a dot.
  mysql: [/^[A-Za-z_][A-Za-z0-9_$]{0,63}$/, "must be a table name (MySQL targets are in the URL's database)"],
} as const;

function tableMapping(type: 'postgres' | 'mysql') {
  const [pattern, message] = TARGET_TABLE[type];
  return z
    .object({
      source: z.string().regex(SOURCE_TABLE, "must be 'schema.table'"),
      target: z.string().regex(pattern, message).optional(),
      include: z.array(z.string().regex(COLUMN, 'must be a column name')).optional(),
      exclude: z.array(z.string().regex(COLUMN, 'must be a column name')).optional(),
    })
    .strict();
}

/**
 * `schema.table` or `table` of a validated `tables[]` entry as separate names. Only configured names
 * are split, and they are plain identifiers; a captured table's name is never split.
 */
export function splitTableName(name: string): { schema?: string; table: string } {
  const dot = name.indexOf('.');
  return dot < 0 ? { table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

function databaseSink<T extends 'postgres' | 'mysql'>(type: T) {
  const scheme = type === 'postgres' ? /^postgres(ql)?:\/\// : /^(mysql|mariadb):\/\//;
  return z
    .object({
      type: z.literal(type),
      url: z
        .string()
        .regex(scheme, `must be a ${type === 'postgres' ? 'postgres://' : 'mysql://'} URL`)
        .refine(parsesAsUrl, URL_PARSE_ERROR),
      /** Postgres only: schema for target tables and the offsets table. */
      schema: z.string().regex(COLUMN, 'must be a schema name').default('public'),
      tables: z.array(tableMapping(type)).min(1).optional(),
      autoCreate: z.boolean().default(true),
      addColumns: z.boolean().default(true),
      /** Batches of different partitions applied at once, each in a target session and transaction of its own. */
      concurrency: z.number().int().min(1).max(32).default(DATABASE_SINK_DEFAULT_CONCURRENCY),
      /** How long to wait on the target before an attempt fails (and is retried); defaults in libs/db-sink. */
      timeouts: z
        .object({
          connectMs: z.number().int().min(100).max(600_000).optional(),
          statementMs: z.number().int().min(100).max(86_400_000).optional(),
          lockMs: z.number().int().min(100).max(86_400_000).optional(),
          idleInTransactionMs: z.number().int().min(1_000).max(86_400_000).optional(),
        })
        .strict()
        .optional(),
    })
    .strict();
}

export const groupSchema = z
  .object({
    name: z.string().regex(GROUP_NAME, 'must be 1-100 lowercase letters, digits, dots, dashes or underscores'),
    topics: z
      .array(z.string().regex(/^[A-Za-z0-9._*-]{1,200}$/, 'must be a topic name or a glob pattern such as "src.public.*"'))
      .min(1, 'must list at least one topic or pattern'),
    startFrom: z
      .union([
        z.enum(['earliest', 'latest']),
        z.iso.datetime({ offset: true, error: 'must be earliest, latest or an ISO 8601 timestamp' }),
      ])
      .default('earliest'),
    resetPolicy: z.enum(['earliest', 'latest', 'fail']).default('earliest'),
    sessionTimeoutMs: z.number().int().min(1_000).max(300_000).default(6_000),
    batchSize: z.number().int().min(1).max(10_000).default(500),
    /** In-process members this worker runs for the group. */
    members: z.number().int().min(1).max(64).default(1),
    sink: z
      .discriminatedUnion('type', [
        z.object({ type: z.literal('log') }).strict(),
        /** No worker runs the group: clients consume it over the HTTP pull API. */
        z.object({ type: z.literal('pull') }).strict(),
        databaseSink('postgres'),
        databaseSink('mysql'),
        webhookSinkSchema,
        natsSinkSchema,
        redisSinkSchema,
        rabbitmqSinkSchema,
      ])
      .default({ type: 'log' }),
    retry: z
      .object({
        maxAttempts: z.number().int().min(1).max(1_000).default(5),
        initialBackoffMs: z.number().int().min(1).max(3_600_000).default(200),
        maxBackoffMs: z.number().int().min(1).max(86_400_000).default(30_000),
      })
      .strict()
      .default({ maxAttempts: 5, initialBackoffMs: 200, maxBackoffMs: 30_000 }),
    /** After the last attempt: park the message in the dead letter table and go on, or block the partition. */
    onFailure: z.enum(['dead_letter', 'block']).default('dead_letter'),
    /** What the worker does to each message between fetch and sink (libs/message-pipeline, docs/transforms.md). */
    ...pipelineKeys,
  })
  .strict()
  .superRefine((group, ctx) => {
    const pipeline = (['filter', 'transforms', 'transform', 'route'] as const).filter((k) => group[k] !== undefined);
    if (group.sink.type === 'pull' && pipeline.length) {
      ctx.addIssue({
        code: 'custom',
        path: [pipeline[0]],
        message: 'applies to groups with a sink: the pull API hands out messages as they are',
      });
    }
    const flatten = group.transforms?.findIndex((t) => t.type === 'flatten') ?? -1;
    if (flatten >= 0 && (group.sink.type === 'postgres' || group.sink.type === 'mysql')) {
      ctx.addIssue({
        code: 'custom',
        path: ['transforms', flatten],
        message: 'flatten makes a message the bare row: a database sink needs the envelope (op, key, source)',
      });
    }
  });

export const fileSchema = z
  .object({
    topicDefaults: topicDefaultsSchema.default({ partitions: 4, retentionMs: 604_800_000, retentionBytes: null }),
    sources: z.array(sourceSchema).default([]),
    topics: z.array(topicSchema).default([]),
    groups: z.array(z.preprocess((g) => databaseGroupDefaults(webhookGroupDefaults(g)), groupSchema)).default([]),
    /** How often the retention janitor runs. */
    retentionCheckIntervalMs: z.number().int().min(100).max(86_400_000).default(60_000),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.sources.forEach((s, i) => {
      if (seen.has(s.name))
        ctx.addIssue({ code: 'custom', path: ['sources', i, 'name'], message: `duplicate source "${s.name}"` });
      seen.add(s.name);
    });
    const groups = new Set<string>();
    file.groups.forEach((g, i) => {
      if (groups.has(g.name))
        ctx.addIssue({ code: 'custom', path: ['groups', i, 'name'], message: `duplicate group "${g.name}"` });
      groups.add(g.name);
    });
    const topics = new Set<string>();
    file.topics.forEach((t, i) => {
      if (topics.has(t.name))
        ctx.addIssue({ code: 'custom', path: ['topics', i, 'name'], message: `duplicate topic "${t.name}"` });
      topics.add(t.name);
    });
  });

export const envSchema = z.object({
  TRIBUTARY_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/.+/, 'must be a postgres:// URL')
    .optional(),
  TRIBUTARY_CONFIG: z.string().optional(),
  TRIBUTARY_DATA_DIR: z.string().default('.tributary'),
  TRIBUTARY_EMBEDDED_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  TRIBUTARY_API_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  TRIBUTARY_API_HOST: z.string().default('127.0.0.1'),
  TRIBUTARY_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  TRIBUTARY_LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log'),
  /** `text`: Nest's human-readable lines; `json`: one JSON object per line (pino), HTTP requests included. */
  TRIBUTARY_LOG_FORMAT: z.enum(['text', 'json']).default('text'),
  TRIBUTARY_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Host names (besides loopback names and IP addresses) the API answers to; `.example.com` covers its subdomains. */
  TRIBUTARY_API_ALLOWED_HOSTS: commaList(
    z
      .string()
      .regex(
        /^(\*|\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)$/,
        'must be host names (no port), `.domain` or `*`',
      ),
  ),
  /** Web origins whose pages may call the API from a browser (CORS); none by default. */
  TRIBUTARY_API_ALLOWED_ORIGINS: commaList(
    z.string().refine(isOrigin, 'must be origins such as https://console.example.com (scheme, host, optional port; no path)'),
  ),
  /** The built web console's folder (index.html and assets/); default: `dist/console` of the installation. */
  TRIBUTARY_CONSOLE_DIR: z.string().min(1, 'must be a folder').optional(),
  /** `true` serves /metrics without a token even when authentication is on. */
  TRIBUTARY_METRICS_PUBLIC: z.enum(['true', 'false'], 'must be true or false').default('false'),
  /** How often the gauges read from sources (slot lag, reachability) are refreshed, at most. */
  TRIBUTARY_METRICS_SOURCE_INTERVAL_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(10_000),
});

/** A comma-separated list (blanks around entries ignored), each entry checked by `entry`. */
function commaList(entry: z.ZodString) {
  return z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((e) => e.trim().toLowerCase())
        .filter(Boolean),
    )
    .pipe(z.array(entry));
}

/** `scheme://host[:port]` exactly, as browsers send it in `Origin`. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

export type SourceFileConfig = z.infer<typeof sourceSchema>;
export type TopicFileConfig = z.infer<typeof topicSchema>;
export type GroupConfig = z.infer<typeof groupSchema>;
export type TopicDefaults = z.infer<typeof topicDefaultsSchema>;
