/**
 * `npm run bench:snapshot`: rows/s a snapshot (backfill) of a table lands in its topic, beside a
 * `COPY bench_rows TO STDOUT` of the same table into the same Node process (the baseline) and beside
 * the platform's append ceiling for the same messages, all in the same run.
 * Environment: BENCH_ROWS (default 1000000), BENCH_CHUNK_SIZES (default "50000,20000"; the first is the
 * initial snapshot's, and a backfill, started as the API starts them, runs with each).
 */
import { performance } from 'node:perf_hooks';
import { Client, type Pool } from 'pg';
import { SourceCapture } from '@tributary/capture';
import { type SourceConfig, type TributaryConfig, sourceSchema } from '@tributary/config';
import { BackfillRepository, copyOut, planBackfill, type Backfill } from '@tributary/snapshot';
import { PlatformDatabase } from '@tributary/store';
import { type RowBatch, type RowBatchFormat, TopicLog } from '@tributary/topic-log';
import { onCleanup, runBench } from './support/cleanup';
import { BenchCluster, waitUntil } from './support/cluster';
import { BENCH_TABLE_DDL } from './support/envelopes';
import { createTopic, quietLibraries } from './support/platform';
import { fmtRate, phase, Progress } from './support/progress';
import { chartBlock, factsMarkdown, machineFacts, writeSection } from './support/report';
import { barChart } from './support/stats';
import { fmt, Table } from './support/table';
import { positiveEnv, positiveListEnv } from './support/env';

const ROWS = positiveEnv('BENCH_ROWS', 1_000_000);
// The API's limit for a backfill's chunk size.
const CHUNK_SIZES = positiveListEnv('BENCH_CHUNK_SIZES', '50000,20000', 100_000);
const PARTITIONS = 4;
const TOPIC = 'bench.public.bench_rows';
const TARGET = 0.5;

interface Run {
  label: string;
  chunkSize: number;
  seconds: number;
  rate: number;
  chunks: number;
}

runBench('bench:snapshot', async () => {
  quietLibraries();
  const facts = machineFacts();
  console.log(
    `bench:snapshot: a ${ROWS.toLocaleString('en-US')}-row table into its topic, chunk sizes ${CHUNK_SIZES.join(', ')}`,
  );
  console.log(`machine: ${facts.cores} cores, ${facts.cpu}, Node ${facts.node}; ${facts.loadBefore}`);

  phase('setup');
  const cluster = await BenchCluster.start();
  console.log(`Postgres: ${cluster.versionText} (${cluster.system ? 'system' : 'bundled'} binaries)`);
  const sourceUrl = await cluster.createDatabase('src');
  const platformUrl = await cluster.createDatabase('platform');
  const fill = new Progress('fill');
  fill.update(`inserting ${ROWS.toLocaleString('en-US')} rows`);
  await cluster.query('src', BENCH_TABLE_DDL);
  await cluster.query(
    'src',
    `INSERT INTO bench_rows
     SELECT g, g % 1000, (g % 100000) / 100.0, 'EUR', (ARRAY['new', 'paid', 'shipped'])[g % 3 + 1], g % 2 = 0,
            timestamptz '2026-01-01 00:00:00+00' + make_interval(secs => (g % 86400) + (g % 997) / 1000.0),
            jsonb_build_object('qty', g % 7, 'sku', 'SKU-' || (g % 5000), 'tags', jsonb_build_array('a', 'b'))
       FROM generate_series(1, $1) g`,
    [ROWS],
  );
  await cluster.query('src', 'VACUUM ANALYZE bench_rows');
  const [{ size }] = await cluster.query<{ size: string }>('src', `SELECT pg_size_pretty(pg_table_size('bench_rows')) AS size`);
  fill.done(`${ROWS.toLocaleString('en-US')} rows, ${size}`);

  phase('baseline: COPY bench_rows TO STDOUT into Node');
  const copyRuns: number[] = [];
  await copyBaseline(sourceUrl); // warm the cache
  for (let i = 0; i < 3; i++) copyRuns.push(await copyBaseline(sourceUrl));
  const copySeconds = Math.min(...copyRuns);
  const copyRate = ROWS / copySeconds;
  console.log(`  COPY: best of ${copyRuns.length} ${fmt(copySeconds, 3)} s, ${fmtRate(copyRate)} rows/s`);

  phase('snapshots');
  const defaults = sourceSchema.parse({ name: 'bench', tables: ['public.bench_rows'] });
  const source: SourceConfig = {
    name: 'bench',
    url: sourceUrl,
    tables: [{ schema: 'public', table: 'bench_rows' }],
    slot: 'tributary_bench',
    publication: 'tributary_bench',
    heartbeatIntervalMs: defaults.heartbeatIntervalMs,
    batchSize: defaults.batchSize,
    maxBatchDelayMs: defaults.maxBatchDelayMs,
    snapshot: 'initial',
    snapshotChunkSize: CHUNK_SIZES[0],
    snapshotChunkDelayMs: 0,
  };
  const config: TributaryConfig = {
    databaseUrl: platformUrl,
    embedded: { dataDir: '/nonexistent', port: 1 },
    api: { host: '127.0.0.1', port: 0, allowedHosts: [], allowedOrigins: [] },
    logLevel: 'warn',
    logFormat: 'text',
    metricsPublic: false,
    metricsSourceIntervalMs: 10_000,
    topicDefaults: { partitions: PARTITIONS, retentionMs: 604_800_000, retentionBytes: null },
    sources: [source],
    topics: [],
    groups: [],
    defaultSourceUrl: platformUrl,
    localDefaults: false,
    declared: { sources: [], groups: [] },
    retentionCheckIntervalMs: 3_600_000,
  };
  const db = await PlatformDatabase.open(config);
  onCleanup('platform database', () => db.close());
  const repo = new BackfillRepository(db.pool);
  const capture = new SourceCapture(source, config, db);
  capture.start();
  onCleanup('capture', () => capture.stop());

  const runs: Run[] = [];
  // The initial snapshot, queued when the slot is created; then backfills as the API starts them.
  let backfill = await waitUntil(
    async () => (await repo.list('bench')).find((b) => b.reason === 'initial'),
    'the initial snapshot to be queued',
    120_000,
  );
  runs.push(await follow(repo, backfill, `initial snapshot`));
  // A backfill for every size, the initial snapshot's too: the initial snapshot runs while capture starts
  // and its topic is new, and ran up to 25 % slower than a backfill of the same chunk size.
  for (const chunkSize of CHUNK_SIZES) {
    backfill = await planBackfill(db.pool, source, { table: 'public.bench_rows', chunkSize });
    runs.push(await follow(repo, backfill, `backfill`));
  }
  await capture.stop();

  phase("append ceiling: the first snapshot's record batches appended again with TopicLog.appendRows, a chunk per transaction");
  const appendRate = await appendCeiling(db.pool);
  console.log(`  append ceiling: ${fmtRate(appendRate)} rows/s`);

  const best = runs.reduce((a, b) => (b.rate > a.rate ? b : a));
  const table = new Table(['Run', 'Chunk size', 'Chunks', 'Time', 'Rows/s', 'of COPY']);
  table.add('COPY bench_rows TO STDOUT (baseline)', '—', '—', `${fmt(copySeconds, 2)} s`, fmtRate(copyRate), '100 %');
  for (const r of runs) {
    table.add(r.label, r.chunkSize, r.chunks, `${fmt(r.seconds, 2)} s`, fmtRate(r.rate), `${fmt((r.rate / copyRate) * 100)} %`);
  }
  console.log('');
  table.print();
  const chart = barChart([
    { label: 'COPY TO STDOUT', value: copyRate, text: `${fmtRate(copyRate)} rows/s` },
    { label: 'append ceiling', value: appendRate, text: `${fmtRate(appendRate)} rows/s` },
    { label: `snapshot (best)`, value: best.rate, text: `${fmtRate(best.rate)} rows/s` },
    { label: '50 % of COPY', value: copyRate * TARGET, text: `${fmtRate(copyRate * TARGET)} rows/s` },
  ]);
  console.log(`\n${chart}`);
  const met = best.rate >= copyRate * TARGET;

  writeSection(
    'snapshot',
    `## Snapshot (\`npm run bench:snapshot\`)

${factsMarkdown(
  facts,
  {
    Postgres: `${cluster.versionText} (${cluster.system ? 'system' : 'bundled'} binaries), one cluster for source and platform databases, default settings, \`wal_level=logical\`, fsync on`,
    Workload: `${ROWS.toLocaleString('en-US')} rows (${size}) of an 8-column table (bigint key, int, numeric, text ×2, boolean, timestamptz, jsonb), ${PARTITIONS}-partition topic, no concurrent writes`,
  },
  'npm run bench:snapshot   # BENCH_ROWS, BENCH_CHUNK_SIZES to change the sizes',
)}

${table.markdown()}

${chartBlock(chart)}

| Metric | Target | Measured (best run) | Met |
| --- | ---: | ---: | ---: |
| Snapshot ÷ COPY TO STDOUT | ≥ 50 % | ${fmt((best.rate / copyRate) * 100)} % | ${met ? '✅ yes' : '❌ no'} |
| Snapshot ÷ append ceiling | — | ${fmt((best.rate / appendRate) * 100)} % | — |

### Why

COPY only reads the heap and sends each row's text once. A snapshot reads the same rows the same way
(\`COPY (SELECT … ORDER BY id LIMIT n) TO STDOUT\` by keyset pages of the primary key, in a REPEATABLE
READ transaction that also writes the chunk's watermarks), decodes only each row's key (for its
partition and the seam check) and **stores the rows durably** as they came: one record batch per
partition per chunk in \`tributary.message_batches\`, holding the rows' COPY text and once what renders
them into \`r\` envelopes when read, its WAL, and a commit with the source checkpoint and the backfill's
progress, on the same 2 cores that run both databases. The *append ceiling* is the platform storing the
very same record batches again with \`TopicLog.appendRows\` and nothing else to do (${fmt((appendRate / copyRate) * 100)} % of COPY
here): storing is not what limits a snapshot; reading, splitting the rows by partition and the watermarks'
turns through the replication stream are, and they overlap with the appends (the snapshotter reads up
to four chunks ahead).${chunkNote(runs)}

### How it is measured

- **Baseline:** \`COPY bench_rows TO STDOUT\` (text format) as a simple-protocol query of a
  \`pg\` client, every row received by Node and counted; best of ${copyRuns.length} after one warm-up.
- **Snapshot:** the capture of one source runs in the bench process (\`SourceCapture\`, as the capture role
  does). The first run is the table's initial snapshot (queued when the slot is created), then one
  backfill per chunk size, requested as \`POST /api/v1/sources/:source/backfills\` does (\`planBackfill\`); chunk sizes
  are compared between backfills, since the initial snapshot also overlaps capture's start. Time is the
  backfill's \`started_at\` to \`finished_at\` in the platform database: the last chunk's messages, progress and
  checkpoint committed.
- **Append ceiling:** the initial snapshot's record batches read back and appended to a scratch topic with
  \`TopicLog.appendRows\`, one chunk's batches per transaction.
`,
  );
});

/** What the chunk size changed, when several were measured. */
function chunkNote(runs: Run[]): string {
  const backfills = runs.filter((r) => r.label === 'backfill');
  if (backfills.length < 2) return '';
  const [small, large] = [...backfills]
    .sort((a, b) => a.chunkSize - b.chunkSize)
    .filter((_, i, all) => i === 0 || i === all.length - 1);
  const speedup = large.rate / small.rate;
  const sizes = `chunks of ${large.chunkSize.toLocaleString('en-US')} rows`;
  const measured =
    speedup >= 1.1
      ? ` Backfills in chunks of ${large.chunkSize.toLocaleString('en-US')} rows ran at ${fmt(speedup, 1)}× the rate of chunks of ${small.chunkSize.toLocaleString('en-US')}.`
      : ` In this run backfills in ${sizes} ran at ${fmt(speedup, 2)}× the rate of chunks of ${small.chunkSize.toLocaleString('en-US')} (the gap varies from run to run).`;
  return (
    `${measured} Each chunk also costs a watermark commit on the source, a platform commit ` +
    '(with its fsync) and a turn of the pipeline, on a machine where every fsync and every core is shared. ' +
    'Larger chunks hold more rows in memory (up to four chunks, at most 64 MiB of rows) and leave more rows to the stream when they change during the read.'
  );
}

/** Follows a backfill until it is done; its rate from the platform's own timestamps. */
async function follow(repo: BackfillRepository, backfill: Backfill, label: string): Promise<Run> {
  const progress = new Progress(`${label} #${backfill.id} (chunks of ${backfill.chunkSize})`, 2_000);
  let current = backfill;
  await waitUntil(
    async () => {
      current = (await repo.get('bench', backfill.id)) as Backfill;
      progress.count(current.rowsDone, ROWS);
      if (current.status === 'failed' || current.status === 'cancelled') {
        throw new Error(`backfill ${current.id} ${current.status}: ${current.error}`);
      }
      return current.status === 'done';
    },
    `backfill ${backfill.id}`,
    30 * 60_000,
    50,
  );
  const seconds = ((current.finishedAt as Date).getTime() - (current.startedAt as Date).getTime()) / 1000;
  const run = { label, chunkSize: current.chunkSize, seconds, rate: current.rowsDone / seconds, chunks: current.chunksDone };
  progress.done(`${current.rowsDone.toLocaleString('en-US')} rows in ${fmt(seconds, 2)} s, ${fmtRate(run.rate)} rows/s`);
  if (current.rowsDone !== ROWS) throw new Error(`backfill ${current.id} read ${current.rowsDone} rows, expected ${ROWS}`);
  return run;
}

/** `COPY bench_rows TO STDOUT` received by this process (as the snapshotter receives rows); returns the seconds it took. */
async function copyBaseline(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const started = performance.now();
    const rows = await copyOut(client, 'COPY bench_rows TO STDOUT', () => undefined);
    const seconds = (performance.now() - started) / 1000;
    if (rows !== ROWS) throw new Error(`COPY sent ${rows} rows, expected ${ROWS}`);
    return seconds;
  } finally {
    await client.end();
  }
}

/**
 * The platform's rate for the same messages with nothing but TopicLog.appendRows: the first snapshot's
 * record batches read back and appended again, one chunk's batches (one per partition) per commit.
 */
async function appendCeiling(pool: Pool): Promise<number> {
  const scratch = `${TOPIC}.ceiling`;
  await createTopic(pool, scratch, PARTITIONS);
  const { rows } = await pool.query<{ partition: number; rows: string; format: RowBatchFormat }>(
    `SELECT partition, rows, row_format AS format FROM tributary.message_batches
      WHERE topic = $1 AND rows IS NOT NULL AND (row_format->>'backfill')::int = (
        SELECT min((row_format->>'backfill')::int) FROM tributary.message_batches WHERE topic = $1)
      ORDER BY row_format->>'lsn', partition`,
    [TOPIC],
  );
  const chunks = new Map<string, RowBatch[]>();
  let count = 0;
  for (const r of rows) {
    const lines = r.rows.split('\n').length;
    count += lines;
    const chunk = chunks.get(r.format.lsn) ?? [];
    chunk.push({ topic: scratch, partition: r.partition, rows: Buffer.from(r.rows), count: lines, format: r.format });
    chunks.set(r.format.lsn, chunk);
  }
  const client = await pool.connect();
  try {
    const started = performance.now();
    for (const batches of chunks.values()) {
      await client.query('BEGIN');
      await TopicLog.appendRows(client, batches);
      await client.query('COMMIT');
    }
    return count / ((performance.now() - started) / 1000);
  } finally {
    client.release();
  }
}
