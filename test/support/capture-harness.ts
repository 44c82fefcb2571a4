import { sourceSchema, type SourceConfig, type SourceFileConfig, type TributaryConfig } from '@tributary/config';
import { SourceCapture } from '@tributary/capture';
import { PlatformDatabase } from '@tributary/store';
import { loggedMessages } from './logged-messages';
import { waitFor } from './pg-cluster';

export function sourceConfig(name: string, url: string, tables: string[], extra: Partial<SourceConfig> = {}): SourceConfig {
  return {
    name,
    url,
    tables: tables.map((t) => {
      const [schema, table] = t.split('.');
      return { schema, table };
    }),
    slot: `tributary_${name}`,
    publication: `tributary_${name}`,
    heartbeatIntervalMs: 1_000,
    batchSize: 5_000,
    maxBatchDelayMs: 20,
    ...extra,
  };
}

export function platformConfig(databaseUrl: string, sources: SourceConfig[], partitions = 4): TributaryConfig {
  return {
    databaseUrl,
    embedded: { dataDir: '/nonexistent', port: 1 },
    api: { host: '127.0.0.1', port: 0, allowedHosts: [], allowedOrigins: [] },
    logLevel: 'warn',
    logFormat: 'text',
    metricsPublic: false,
    metricsSourceIntervalMs: 10_000,
    topicDefaults: { partitions, retentionMs: 604_800_000, retentionBytes: null },
    sources,
    topics: [],
    groups: [],
    defaultSourceUrl: databaseUrl,
    localDefaults: false,
    declared: { sources: sources.map(declaredSource), groups: [] },
    retentionCheckIntervalMs: 60_000,
  };
}

/** A resolved source as tributary.yaml would declare it: what an app seeds its catalog with. */
function declaredSource(s: SourceConfig): SourceFileConfig {
  const { tables, ...rest } = s;
  return sourceSchema.parse({
    ...rest,
    tables: tables.map((t) => (t.topic ? { table: `${t.schema}.${t.table}`, topic: t.topic } : `${t.schema}.${t.table}`)),
  });
}

/** Capture running in the test process, against a real platform database. */
export class CaptureHarness {
  private constructor(
    readonly db: PlatformDatabase,
    readonly captures: SourceCapture[],
  ) {}

  static async start(config: TributaryConfig): Promise<CaptureHarness> {
    const db = await PlatformDatabase.open(config);
    const captures = config.sources.map((s) => new SourceCapture(s, config, db));
    for (const c of captures) c.start();
    // Changes made before the slot exists are not captured (snapshots are a separate feature).
    await waitFor(() => captures.every((c) => c.status().state === 'streaming'), 'capture to stream');
    return new CaptureHarness(db, captures);
  }

  /** Envelopes of a topic, parsed, in offset order per partition (partitions concatenated). */
  async messages(topic: string): Promise<{ partition: number; offset: number; key: string | null; envelope: Envelope }[]> {
    return (await loggedMessages(this.db.pool, topic)).map((m) => ({
      partition: m.partition,
      offset: m.offset,
      key: m.key,
      envelope: JSON.parse(m.envelope) as Envelope,
    }));
  }

  async count(topic?: string): Promise<number> {
    const { rows } = await this.db.pool.query(
      `SELECT COALESCE(sum(last_offset - base_offset + 1), 0)::int AS n FROM tributary.message_batches ${topic ? 'WHERE topic = $1' : ''}`,
      topic ? [topic] : [],
    );
    return rows[0].n;
  }

  /** The raw text of the envelope of the message of `topic` with key `key`. */
  async envelopeText(topic: string, key: string): Promise<string | undefined> {
    return (await loggedMessages(this.db.pool, topic)).find((m) => m.key === key)?.envelope;
  }

  async stop(): Promise<void> {
    await Promise.all(this.captures.map((c) => c.stop()));
    await this.db.close();
  }
}

export interface Envelope {
  id: string;
  op: 'c' | 'u' | 'd' | 't' | 'r';
  key: Record<string, unknown> | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  source: {
    name: string;
    database: string;
    schema: string;
    table: string;
    lsn: string;
    commitLsn: string;
    seq: number;
    txId: number;
    ts_ms: number;
  };
  ts_ms: number;
  unchanged_toast?: string[];
}
