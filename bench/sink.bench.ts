/**
 * `npm run bench:sink`: rows/s a DatabaseSink applies from a pre-filled topic into a Postgres target and
 * into MariaDB, at a few group batch sizes, beside the same rows written directly from Node with
 * multi-row upserts in batches of the same size (the baseline), all in the same run.
 * Environment: BENCH_ROWS (default 100000), BENCH_BATCH_SIZES (default "500,2000,5000"),
 * BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306), BENCH_REPEATS (default 2: sink and baseline alternate, best of each).
 */
import { performance } from 'node:perf_hooks';
import { createConnection, type Connection } from 'mysql2/promise';
import type { Pool } from 'pg';
import { Client } from 'pg';
import { DATABASE_SINK_DEFAULT_BATCH_SIZE, groupSchema } from '@tributary/config';
import { GroupMember, GroupRepository, MessageNotifier } from '@tributary/consumer-groups';
import { DatabaseSink, MysqlDialect, PostgresDialect } from '@tributary/db-sink';
import { TableSchemaRepository } from '@tributary/schema-registry';
import type { ConsumedMessage } from '@tributary/sink-contract';
import { TopicLog } from '@tributary/topic-log';
import { GroupRunner } from '@tributary/worker';
import { onCleanup, runBench } from './support/cleanup';
import { BenchCluster, waitUntil } from './support/cluster';
import { benchRecords, benchTableColumns } from './support/envelopes';
import { createTopic, openPlatform, quietLibraries } from './support/platform';
import { fmtRate, phase, Progress } from './support/progress';
import { chartBlock, factsMarkdown, machineFacts, recordSection, uptime } from './support/report';
import { barChart } from './support/stats';
import { fmt, Table } from './support/table';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const BATCH_SIZES = (process.env.BENCH_BATCH_SIZES ?? '500,2000,5000').split(',').map(Number);
const MYSQL_URL = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
/** Runs of the sink and of the baseline per batch size, alternating; the best of each is reported. */
const REPEATS = Number(process.env.BENCH_REPEATS ?? 2);
const MYSQL_DATABASE = 'tributary_bench';
const PARTITIONS = 4; // capture's default topic partitions
const TOPIC = 'bench.public.bench_rows';
const TARGETS = { postgres: 10_000, mysql: 5_000 };
/** Issue 14: the sink at ≥ 80 % of the plain upserts at the default batch size, same run. */
const RATIO_TARGET = 0.8;
const COLUMNS = benchTableColumns();

type Kind = 'postgres' | 'mysql';

interface Run {
  kind: Kind;
  batchSize: number;
  sinkRate: number;
  sinkSeconds: number;
  baselineRate: number;
  baselineSeconds: number;
}

/** The row values of every message, as plain objects (parsed once, before any clock starts). */
type Row = Record<string, unknown>;

runBench('bench:sink', async () => {
  quietLibraries();
  const facts = machineFacts();
  console.log(
    `bench:sink: ${ROWS.toLocaleString('en-US')} messages (${PARTITIONS} partitions) into Postgres and MariaDB at batch sizes ${BATCH_SIZES.join(', ')}`,
  );
  console.log(`machine: ${facts.cores} cores, ${facts.cpu}, Node ${facts.node}; ${facts.loadBefore}`);

  phase('setup');
  const cluster = await BenchCluster.start();
  console.log(`Postgres: ${cluster.versionText} (${cluster.system ? 'system' : 'bundled'} binaries)`);
  const platformUrl = await cluster.createDatabase('platform');
  const targetUrl = await cluster.createDatabase('target');
  const pool = await openPlatform(platformUrl);
  const repo = new GroupRepository(pool);
  const schemas = new TableSchemaRepository(pool);
  const notifier = new MessageNotifier(platformUrl);
  await notifier.start();
  onCleanup('notifier', () => notifier.close());

  const mysql = await openMysql();
  const mysqlVersion = mysql ? await mysqlServerVersion(mysql.admin) : undefined;
  console.log(
    mysql
      ? `MariaDB/MySQL: ${mysqlVersion} at ${MYSQL_URL}, database ${MYSQL_DATABASE}`
      : `NOTE: no MariaDB at ${MYSQL_URL}: MySQL runs are left out`,
  );
  const pg = new Client({ connectionString: targetUrl });
  await pg.connect();
  pg.on('error', () => undefined);
  onCleanup('Postgres target connection', () => pg.end());

  phase(`prefill: ${ROWS.toLocaleString('en-US')} capture-format insert messages into ${TOPIC}`);
  const rows = await prefill(pool);

  const runs: Run[] = [];
  const kinds: Kind[] = mysql ? ['postgres', 'mysql'] : ['postgres'];
  for (const kind of kinds) {
    for (const batchSize of BATCH_SIZES) {
      phase(`${kind}, batch size ${batchSize}  (${uptime()})`);
      const target = kind === 'postgres' ? pgTarget(pg, targetUrl) : mysqlTarget(mysql as MysqlTarget);
      // Sink and baseline take turns, and each keeps its best time: a load spike on a shared machine
      // then hits neither alone.
      let sink = Infinity;
      let baseline = Infinity;
      for (let repeat = 1; repeat <= REPEATS; repeat++) {
        await target.drop('bench_rows');
        sink = Math.min(sink, await runSink(kind, batchSize, repeat, target, repo, schemas, notifier));
        await target.drop('bench_rows_direct');
        await target.cloneTable('bench_rows', 'bench_rows_direct');
        baseline = Math.min(baseline, await runBaseline(kind, batchSize, target, rows));
      }
      runs.push({
        kind,
        batchSize,
        sinkRate: ROWS / sink,
        sinkSeconds: sink,
        baselineRate: ROWS / baseline,
        baselineSeconds: baseline,
      });
    }
  }
  report({ cluster, facts, runs, mysqlVersion });
});

/** Fills the topic with insert envelopes and records the table's shape as capture would. */
async function prefill(pool: Pool): Promise<Row[]> {
  await createTopic(pool, TOPIC, PARTITIONS);
  const client = await pool.connect();
  const progress = new Progress('TopicLog.append');
  const rows: Row[] = new Array(ROWS);
  try {
    await TableSchemaRepository.save(client, {
      source: 'bench',
      schema: 'public',
      table: 'bench_rows',
      topic: TOPIC,
      columns: COLUMNS,
      primaryKey: ['id'],
    });
    for (let from = 0; from < ROWS; from += 5_000) {
      const count = Math.min(5_000, ROWS - from);
      const records = benchRecords({ source: 'bench', topic: TOPIC, partitions: PARTITIONS, from: from + 1, count });
      records.forEach((r, i) => (rows[from + i] = (JSON.parse(r.envelope) as { after: Row }).after));
      await client.query('BEGIN');
      await TopicLog.append(client, records);
      await client.query('COMMIT');
      progress.count(from + count, ROWS, 'messages');
    }
  } finally {
    client.release();
  }
  progress.done(`${ROWS.toLocaleString('en-US')} messages appended`);
  return rows;
}

interface Target {
  drop(table: string): Promise<void>;
  cloneTable(from: string, to: string): Promise<void>;
  count(table: string): Promise<number>;
  /** One transaction: a multi-row upsert of `rows` into `table`. */
  upsert(table: string, rows: Row[]): Promise<void>;
  sink(group: string, schemas: TableSchemaRepository): DatabaseSink;
}

function pgTarget(client: Client, url: string): Target {
  const names = COLUMNS.map((c) => `"${c.name}"`).join(', ');
  const updates = COLUMNS.filter((c) => c.name !== 'id')
    .map((c) => `"${c.name}" = EXCLUDED."${c.name}"`)
    .join(', ');
  const value = (row: Row, c: (typeof COLUMNS)[number]): unknown => {
    const v = row[c.name];
    if (v === null || v === undefined) return null;
    return c.kind === 'json' ? JSON.stringify(v) : c.kind === 'bool' ? v === true : cellValue(v);
  };
  return {
    drop: async (table) => void (await client.query(`DROP TABLE IF EXISTS ${table}`)),
    cloneTable: async (from, to) => void (await client.query(`CREATE TABLE ${to} (LIKE ${from} INCLUDING ALL)`)),
    count: async (table) => Number((await client.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n),
    upsert: async (table, rows) => {
      const params: unknown[] = [];
      const tuples = rows.map((row) => `(${COLUMNS.map((c) => `$${params.push(value(row, c))}`).join(', ')})`);
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO ${table} (${names}) VALUES ${tuples.join(', ')} ON CONFLICT (id) DO UPDATE SET ${updates}`,
        params,
      );
      await client.query('COMMIT');
    },
    sink: (group, schemas) =>
      new DatabaseSink(
        () => PostgresDialect.connect(url, 'public'),
        schemas,
        { group, autoCreate: true, addColumns: true },
        'postgres',
      ),
  };
}

interface MysqlTarget {
  admin: Connection;
  conn: Connection;
  url: string;
}

async function openMysql(): Promise<MysqlTarget | undefined> {
  let admin: Connection;
  try {
    admin = await createConnection({ uri: MYSQL_URL, connectTimeout: 3_000 });
  } catch {
    return undefined;
  }
  admin.on('error', () => undefined);
  onCleanup(`MariaDB database ${MYSQL_DATABASE}`, async () => {
    await admin.query(`DROP DATABASE IF EXISTS \`${MYSQL_DATABASE}\``).catch(() => undefined);
    await admin.end().catch(() => undefined);
  });
  await admin.query(`DROP DATABASE IF EXISTS \`${MYSQL_DATABASE}\``);
  await admin.query(`CREATE DATABASE \`${MYSQL_DATABASE}\``);
  const url = new URL(MYSQL_URL);
  url.pathname = `/${MYSQL_DATABASE}`;
  const conn = await createConnection({ uri: url.toString(), timezone: 'Z', supportBigNumbers: true, bigNumberStrings: true });
  conn.on('error', () => undefined);
  await conn.query(`SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'`);
  onCleanup('MariaDB connection', () => conn.end().catch(() => undefined));
  return { admin, conn, url: url.toString() };
}

async function mysqlServerVersion(conn: Connection): Promise<string> {
  const [rows] = await conn.query('SELECT VERSION() AS v');
  return (rows as { v: string }[])[0].v;
}

function mysqlTarget(m: MysqlTarget): Target {
  const names = COLUMNS.map((c) => `\`${c.name}\``).join(', ');
  const updates = COLUMNS.filter((c) => c.name !== 'id')
    .map((c) => `\`${c.name}\` = VALUES(\`${c.name}\`)`)
    .join(', ');
  const placeholders = `(${COLUMNS.map(() => '?').join(', ')})`;
  const value = (row: Row, c: (typeof COLUMNS)[number]): unknown => {
    const v = row[c.name];
    if (v === null || v === undefined) return null;
    if (c.kind === 'json') return JSON.stringify(v);
    if (c.kind === 'bool') return v === true ? 1 : 0;
    if (c.kind === 'timestamptz') return cellValue(v).replace('T', ' ').replace(/Z$/, '');
    return cellValue(v);
  };
  return {
    drop: async (table) => void (await m.conn.query(`DROP TABLE IF EXISTS \`${table}\``)),
    cloneTable: async (from, to) => void (await m.conn.query(`CREATE TABLE \`${to}\` LIKE \`${from}\``)),
    count: async (table) => {
      const [rows] = await m.conn.query(`SELECT count(*) AS n FROM \`${table}\``);
      return Number((rows as { n: string }[])[0].n);
    },
    upsert: async (table, rows) => {
      await m.conn.query('START TRANSACTION');
      await m.conn.query(
        `INSERT INTO \`${table}\` (${names}) VALUES ${rows.map(() => placeholders).join(', ')} ON DUPLICATE KEY UPDATE ${updates}`,
        rows.flatMap((row) => COLUMNS.map((c) => value(row, c))),
      );
      await m.conn.query('COMMIT');
    },
    sink: (group, schemas) =>
      new DatabaseSink(() => MysqlDialect.connect(m.url), schemas, { group, autoCreate: true, addColumns: true }, 'mysql'),
  };
}

/** A fresh group with one member drains the whole topic through a DatabaseSink; returns seconds. */
async function runSink(
  kind: Kind,
  batchSize: number,
  repeat: number,
  target: Target,
  repo: GroupRepository,
  schemas: TableSchemaRepository,
  notifier: MessageNotifier,
): Promise<number> {
  const config = groupSchema.parse({ name: `sink-${kind}-b${batchSize}-r${repeat}`, topics: [TOPIC], batchSize });
  await repo.upsertGroup(config);
  const member = new GroupMember(repo, config, 'bench');
  await member.heartbeat(true);
  const sink = target.sink(config.name, schemas);
  onCleanup(`sink ${config.name}`, () => sink.close());
  let applied = 0;
  const runner = new GroupRunner(member, config, repo, sink, notifier, (batch: ConsumedMessage[]) => (applied += batch.length));
  const stop = onCleanup(`runner ${config.name}`, () => runner.stop());
  const progress = new Progress(`DatabaseSink (${kind})`);
  const started = performance.now();
  runner.start();
  await waitUntil(
    async () => {
      progress.count(applied, ROWS, 'rows');
      if (applied < ROWS) return false;
      const lag = await repo.lag(config.name);
      return lag.length === PARTITIONS && lag.every((l) => l.lag === '0');
    },
    `the ${kind} sink to apply every message`,
    300_000,
    50,
  );
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  stop();
  const stored = await target.count('bench_rows');
  if (stored !== ROWS) throw new Error(`the ${kind} target holds ${stored} rows, expected ${ROWS}`);
  progress.done(`${ROWS.toLocaleString('en-US')} rows applied in ${fmt(seconds, 2)} s = ${fmtRate(ROWS / seconds)} rows/s`);
  return seconds;
}

/** The same rows, upserted straight from Node in transactions of `batchSize` rows; returns seconds. */
async function runBaseline(kind: Kind, batchSize: number, target: Target, rows: Row[]): Promise<number> {
  const progress = new Progress(`direct upserts (${kind})`);
  const started = performance.now();
  for (let i = 0; i < rows.length; i += batchSize) {
    await target.upsert('bench_rows_direct', rows.slice(i, i + batchSize));
    if ((i / batchSize) % 20 === 0) progress.count(Math.min(rows.length, i + batchSize), rows.length, 'rows');
  }
  const seconds = (performance.now() - started) / 1000;
  const stored = await target.count('bench_rows_direct');
  if (stored !== rows.length) throw new Error(`the ${kind} baseline table holds ${stored} rows, expected ${rows.length}`);
  progress.done(
    `${rows.length.toLocaleString('en-US')} rows upserted in ${fmt(seconds, 2)} s = ${fmtRate(rows.length / seconds)} rows/s`,
  );
  return seconds;
}

function report(r: { cluster: BenchCluster; facts: ReturnType<typeof machineFacts>; runs: Run[]; mysqlVersion?: string }): void {
  const label = (k: Kind) => (k === 'postgres' ? 'Postgres' : 'MariaDB');
  const table = new Table(['Target', 'Batch size', 'DatabaseSink rows/s', 'Direct upserts rows/s (baseline)', 'Sink ÷ baseline']);
  for (const run of r.runs) {
    table.add(
      label(run.kind),
      run.batchSize,
      `${fmtRate(run.sinkRate)} (${fmt(run.sinkSeconds, 1)} s)`,
      `${fmtRate(run.baselineRate)} (${fmt(run.baselineSeconds, 1)} s)`,
      `${fmt((run.sinkRate / run.baselineRate) * 100)} %`,
    );
  }
  const chart = barChart(
    r.runs.flatMap((run) => [
      { label: `${label(run.kind)} ${run.batchSize}: sink`, value: run.sinkRate, text: `${fmtRate(run.sinkRate)} rows/s` },
      {
        label: `${label(run.kind)} ${run.batchSize}: direct`,
        value: run.baselineRate,
        text: `${fmtRate(run.baselineRate)} rows/s`,
      },
    ]),
    40,
  );
  const targets = new Table(['Metric', 'Target', 'Measured', 'Met']);
  const DEFAULT = DATABASE_SINK_DEFAULT_BATCH_SIZE;
  for (const kind of ['postgres', 'mysql'] as Kind[]) {
    const runs = r.runs.filter((x) => x.kind === kind);
    if (!runs.length) {
      targets.add(`${label(kind)} sink`, `≥ ${fmtRate(TARGETS[kind])} rows/s`, 'not run (no server)', 'n/a');
      continue;
    }
    const best = runs.reduce((a, b) => (b.sinkRate > a.sinkRate ? b : a));
    const def = runs.find((x) => x.batchSize === DEFAULT);
    targets.add(
      `${label(kind)} sink`,
      `≥ ${fmtRate(TARGETS[kind])} rows/s`,
      `${fmtRate(best.sinkRate)} rows/s (batch ${best.batchSize})${def && def !== best ? `; ${fmtRate(def.sinkRate)} at the default ${DEFAULT}` : ''}`,
      best.sinkRate >= TARGETS[kind] ? (def && def.sinkRate < TARGETS[kind] ? `✅ yes (not at ${DEFAULT})` : '✅ yes') : '❌ no',
    );
    const ratio = def ? def.sinkRate / def.baselineRate : undefined;
    targets.add(
      `${label(kind)} sink ÷ direct upserts, default batch size ${DEFAULT}`,
      `≥ ${fmt(RATIO_TARGET * 100)} %`,
      ratio === undefined ? `not run (BENCH_BATCH_SIZES lacks ${DEFAULT})` : `${fmt(ratio * 100)} %`,
      ratio === undefined ? 'n/a' : ratio >= RATIO_TARGET ? '✅ yes' : '❌ no',
    );
  }

  console.log(`\n== results (${uptime()})\n`);
  table.print();
  console.log(`\n${chart}\n`);
  targets.print();

  recordSection(
    'sink',
    `## Database sinks (\`npm run bench:sink\`)

${factsMarkdown(
  r.facts,
  {
    Postgres: `${r.cluster.versionText} (${r.cluster.system ? 'system' : 'bundled'} binaries): platform and target databases on one cluster, default settings, fsync on`,
    'MariaDB/MySQL': r.mysqlVersion
      ? `${r.mysqlVersion} at \`${MYSQL_URL}\` (database \`${MYSQL_DATABASE}\`, dropped afterwards)`
      : 'not reachable: left out',
    Workload: `${ROWS.toLocaleString('en-US')} insert envelopes of an 8-column table (bigint key, int, numeric(12,2), text ×2, boolean, timestamptz, jsonb), rendered by capture's own code, in a topic of ${PARTITIONS} partitions`,
  },
  'npm run bench:sink   # sizes: BENCH_ROWS, BENCH_BATCH_SIZES, BENCH_REPEATS (recorded here only with BENCH_WRITE=1); BENCH_MYSQL_URL',
)}

${table.markdown()}

${chartBlock(chart)}

### Targets (2-core machine)

${targets.markdown()}

### How it is measured

- **DatabaseSink:** a fresh group (one in-process \`GroupMember\` + \`GroupRunner\`, group \`batchSize\` as in the table) drains the
  topic into a \`DatabaseSink\` with \`autoCreate\` (the target table is dropped first, so the sink creates it). Each batch is
  one partition's messages, applied in one target transaction with the partition's offset (exactly once). The sink takes up
  to \`concurrency\` (default 4) batches of different partitions at once, each on a target session of its own, as far as the
  runner hands them over. Timed from the runner's start until every message is applied and every committed offset is at the
  end; the target's row count is checked.
- **Repeats:** per batch size the sink and the baseline run ${REPEATS} times each, taking turns; the table shows the best
  time of each (the machine is shared: the best run is the one least disturbed).
- **Baseline:** the same rows (values parsed from the same envelopes before the clock starts), written straight from Node
  into a copy of the table the sink created: one multi-row \`INSERT … ON CONFLICT (id) DO UPDATE\` (Postgres) or
  \`INSERT … ON DUPLICATE KEY UPDATE\` (MariaDB) per transaction, batches of the same size, one connection.
- How the sink writes: Postgres rows as one prepared \`INSERT … SELECT … FROM unnest($1::bigint[], …) ON CONFLICT\` per table
  and column set (one array parameter per column), MariaDB as one multi-row \`INSERT … ON DUPLICATE KEY UPDATE\`
  (text, values escaped by mysql2); the offset lock rides with \`BEGIN\` and the offset save with \`COMMIT\` (three round trips per batch of one table).
- The sink's extra work over the baseline: fetching the messages from the platform database, parsing each envelope (JSON.parse,
  or a lossless parser when a number would lose digits), planning the batch (per-key order), the offset row read and
  written in every target transaction, and the group's offset commit in the platform database after every batch.`,
    ['BENCH_ROWS', 'BENCH_BATCH_SIZES', 'BENCH_REPEATS'],
  );
}

/** A generated row's scalar (text, number) as the text a driver parameter takes. */
function cellValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}
