/**
 * `npm run bench:sync`: keeping another database in sync, Tributary beside Postgres' own logical replication
 * in the same run, on one cluster:
 *
 * 1. Changes: a source table; a slot for each consumer created before the writes; then inserts, updates and
 *    deletes written while nothing consumes. Native replication (`CREATE SUBSCRIPTION ... copy_data = false`
 *    over its pre-created slot) and the all-in-one app (`postgres` sink group, default settings) each apply
 *    them, timed until the target equals the source; then the same into MariaDB (its own slot).
 * 2. Initial load: a `pgbench -i` database, copied by `CREATE SUBSCRIPTION ... copy_data = true` and by
 *    Tributary's initial snapshot of `tables: [public.*]` into a `postgres` sink.
 * 3. Lag: that Tributary pipeline keeps running while `pgbench -c 4 -T <s>` runs on the source, and
 *    afterwards (bounded) until the target equals the source.
 *
 * Environment: BENCH_INSERTS (200000), BENCH_UPDATES (50000), BENCH_DELETES (4000), BENCH_TXN_ROWS (1000),
 * BENCH_PGBENCH_SCALE (5), BENCH_PGBENCH_CLIENTS (4), BENCH_PGBENCH_SECONDS (30),
 * BENCH_CONVERGE_SECONDS (120), BENCH_APPLY_TIMEOUT_SECONDS (600), BENCH_MYSQL_URL; BENCH_SYNC_ONLY=load runs only
 * the initial load (no changes, no lag phase) and prints its table without recording it.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from '@tributary/local-postgres';
import { AppProcess } from './support/app';
import { onCleanup, runBench } from './support/cleanup';
import { sleep } from '@tributary/timing';
import { BenchCluster, tempDir } from './support/cluster';
import { positiveEnv } from './support/env';
import { BENCH_TABLE_DDL } from './support/envelopes';
import { type MariaDb, MARIADB_URL, openMariaDb } from './support/mariadb';
import { groupLag, slotRetainedBytes, troubledPartitions } from './support/pipeline';
import { fmtRate, phase, Progress } from './support/progress';
import { chartBlock, factsMarkdown, machineFacts, recordSection, uptime } from './support/report';
import { sourceYaml } from './support/source-config';
import { barChart } from './support/stats';
import { fmt, Table } from './support/table';
import { type Point, timeChart } from './support/timeline';

const run = promisify(execFile);

const INSERTS = positiveEnv('BENCH_INSERTS', 200_000);
const UPDATES = positiveEnv('BENCH_UPDATES', 50_000);
const DELETES = positiveEnv('BENCH_DELETES', 4_000);
const TXN_ROWS = positiveEnv('BENCH_TXN_ROWS', 1_000);
const SCALE = positiveEnv('BENCH_PGBENCH_SCALE', 5);
const PGBENCH_CLIENTS = positiveEnv('BENCH_PGBENCH_CLIENTS', 4);
const PGBENCH_SECONDS = positiveEnv('BENCH_PGBENCH_SECONDS', 30);
const CONVERGE_SECONDS = positiveEnv('BENCH_CONVERGE_SECONDS', 120);
const APPLY_TIMEOUT_MS = positiveEnv('BENCH_APPLY_TIMEOUT_SECONDS', 600) * 1000;
const KNOBS = [
  'BENCH_INSERTS',
  'BENCH_UPDATES',
  'BENCH_DELETES',
  'BENCH_TXN_ROWS',
  'BENCH_PGBENCH_SCALE',
  'BENCH_PGBENCH_CLIENTS',
  'BENCH_PGBENCH_SECONDS',
  'BENCH_CONVERGE_SECONDS',
  'BENCH_APP_NODE_ARGS',
];
const CHANGES = INSERTS + UPDATES + DELETES;
const ACCOUNTS = SCALE * 100_000;
const TARGETS = { ratio: 0.5, mariadb: 20_000, load: 0.5 };
const ONLY_LOAD = process.env.BENCH_SYNC_ONLY === 'load';
if (process.env.BENCH_SYNC_ONLY && !ONLY_LOAD) throw new Error('BENCH_SYNC_ONLY: the only phase that runs alone is "load"');
if (UPDATES + DELETES > INSERTS) throw new Error('BENCH_UPDATES + BENCH_DELETES must not exceed BENCH_INSERTS (distinct rows)');

/** Server-generated rows $1..$2 (the bench measures replication, not the client). */
const INSERT_RANGE = `INSERT INTO bench_rows
  SELECT g, (g % 1000)::int, (g % 100000) / 100.0, 'EUR', (ARRAY['new', 'paid', 'shipped'])[1 + g % 3], g % 2 = 0,
         now() - (g % 86400) * interval '1 second',
         jsonb_build_object('sku', 'SKU-' || (g % 5000), 'qty', g % 7, 'tags', jsonb_build_array('a', 'b'))
    FROM generate_series($1::bigint, $2::bigint) AS g`;
const UPDATE_RANGE = `UPDATE bench_rows SET amount = amount + 1, status = 'updated', attrs = attrs || '{"v": 2}'
  WHERE id BETWEEN $1 AND $2`;
const DELETE_RANGE = 'DELETE FROM bench_rows WHERE id BETWEEN $1 AND $2';

/** What "the target equals the source" is polled by: cheap on both servers; the Postgres targets get a full comparison at the end. */
const FINGERPRINT = `SELECT count(*) AS n, coalesce(sum(amount), 0) AS amount,
  coalesce(sum(CASE WHEN status = 'updated' THEN 1 ELSE 0 END), 0) AS updated FROM bench_rows`;
const ROWS_DIGEST = `SELECT md5(string_agg((id, account_id, amount, currency, status, paid, created_at, attrs)::text, '|' ORDER BY id)) AS d
  FROM bench_rows`;
const PGBENCH_FINGERPRINT = `SELECT (SELECT sum(abalance) FROM pgbench_accounts) AS a, (SELECT sum(tbalance) FROM pgbench_tellers) AS t,
  (SELECT sum(bbalance) FROM pgbench_branches) AS b, (SELECT count(*) FROM pgbench_history) AS h,
  (SELECT count(*) FROM pgbench_accounts) AS n`;

interface Applied {
  seconds: number;
  /** Tributary only: from the "streaming slot" log line (process start-up left out). */
  streamingSeconds?: number;
  rate: number;
}

interface LagRun {
  tps: number;
  maxLag: number;
  /** Max lag of the tables other than pgbench_history (the keyless one). */
  maxOthersLag: number;
  maxRetainedMb: number;
  convergedAfter?: number;
  samples: Point[];
  runSeconds: number;
  troubles: string[];
}

runBench('bench:sync', async () => {
  const facts = machineFacts();
  console.log(
    `bench:sync: ${fmt(INSERTS)} inserts, ${fmt(UPDATES)} updates, ${fmt(DELETES)} deletes (transactions of ${fmt(TXN_ROWS)}); ` +
      `initial load of pgbench scale ${SCALE} (${fmt(ACCOUNTS)} accounts); pgbench -c ${PGBENCH_CLIENTS} -T ${PGBENCH_SECONDS}`,
  );
  console.log(`machine: ${facts.cores} cores, ${facts.cpu}, Node ${facts.node}; ${facts.loadBefore}`);

  phase('setup');
  const cluster = await BenchCluster.start();
  console.log(`Postgres: ${cluster.versionText} (${cluster.system ? 'system' : 'bundled'} binaries)`);
  const dir = tempDir('tributary-bench-sync-');
  if (ONLY_LOAD) return loadOnly(cluster, dir);
  const srcUrl = await cluster.createDatabase('src');
  await cluster.query('src', BENCH_TABLE_DDL);
  const mariadb = await openMariaDb('tributary_bench_sync');
  console.log(
    mariadb ? `MariaDB: ${mariadb.version} at ${MARIADB_URL}` : `NOTE: no MariaDB at ${MARIADB_URL}: its run is left out`,
  );
  const src = await connect(srcUrl, 'source');

  // Every consumer's slot exists before the first write, so each has the whole workload to apply.
  await src.query('CREATE PUBLICATION bench_native FOR TABLE bench_rows');
  await src.query(`SELECT pg_create_logical_replication_slot('bench_native', 'pgoutput')`);
  const pgPipeline = await Pipeline.create(cluster, dir, 'sync', srcUrl);
  const myPipeline = mariadb ? await Pipeline.create(cluster, dir, 'syncmy', srcUrl) : undefined;
  console.log(
    `  slots created: bench_native, ${[pgPipeline, myPipeline]
      .filter(Boolean)
      .map((p) => p?.slot)
      .join(', ')}`,
  );

  phase(`writing ${fmt(CHANGES)} changes while nothing consumes`);
  await writeChanges(src);
  const sourcePrint = (await fingerprint(src)) as string;
  const sourceDigest = (await src.query(ROWS_DIGEST)).rows[0].d as string;

  phase(`native logical replication  (${uptime()})`);
  const native = await applyNative(cluster, srcUrl, sourcePrint, sourceDigest);

  phase(`Tributary, postgres sink  (${uptime()})`);
  const targetUrl = await cluster.createDatabase('target_tributary');
  const tributary = await pgPipeline.apply(
    ['    sink:', '      type: postgres', `      url: ${targetUrl}`],
    () => connect(targetUrl, 'Tributary target').then((c) => ({ print: () => fingerprint(c), end: () => c.end() })),
    sourcePrint,
  );
  const tributaryDigest = (await cluster.query('target_tributary', ROWS_DIGEST))[0].d;
  if (tributaryDigest !== sourceDigest) throw new Error('the Tributary target holds other rows than the source');

  let maria: Applied | undefined;
  if (myPipeline && mariadb) {
    phase(`Tributary, mysql sink into MariaDB  (${uptime()})`);
    maria = await myPipeline.apply(
      ['    sink:', '      type: mysql', `      url: ${mariadb.url}`],
      () => Promise.resolve({ print: () => mariaFingerprint(mariadb), end: () => Promise.resolve() }),
      sourcePrint,
    );
  }
  await dropSlots(src, [pgPipeline.slot, ...(myPipeline ? [myPipeline.slot] : [])]);

  phase(`initial load: pgbench -i -s ${SCALE}  (${uptime()})`);
  const load = await initialLoad(cluster, dir);
  report({ cluster, facts, native, tributary, maria, mariadb, load });
});

/** A Tributary pipeline with its own platform database (its own catalog), so pipelines never see each other's sources. */
class Pipeline {
  private constructor(
    private readonly dir: string,
    readonly source: string,
    private readonly srcUrl: string,
    private readonly platformUrl: string,
  ) {}

  get slot(): string {
    return `tributary_${this.source}`;
  }

  /** Starts the capture app once, so it creates (and checks) the source's publication and slot, then stops it. */
  static async create(cluster: BenchCluster, dir: string, source: string, srcUrl: string): Promise<Pipeline> {
    const platformUrl = await cluster.createDatabase(`platform_${source}`);
    const pipeline = new Pipeline(dir, source, srcUrl, platformUrl);
    const app = new AppProcess('capture', pipeline.env(pipeline.config([])));
    await app.waitForOutput(new RegExp(`streaming slot ${pipeline.slot} `));
    await app.stop();
    return pipeline;
  }

  /** The all-in-one app with one group of `sinkLines` on the source's table, timed until the target's fingerprint is the source's. */
  async apply(
    sinkLines: string[],
    openTarget: () => Promise<{ print: () => Promise<string | undefined>; end: () => Promise<void> }>,
    expected: string,
  ): Promise<Applied> {
    const target = await openTarget();
    const progress = new Progress(`Tributary ${this.source}`);
    const app = new AppProcess('tributary', {
      ...this.env(this.config(sinkLines)),
      TRIBUTARY_API_PORT: String(await freePort()),
    });
    let streamingAt = 0;
    void app.waitForOutput(new RegExp(`streaming slot ${this.slot} `), APPLY_TIMEOUT_MS).then((at) => (streamingAt = at));
    const platform = await connect(this.platformUrl, 'platform');
    const lagOf = () => groupLag(platform, 'mirror', `${this.source}.%`).catch(() => NaN);
    const doneAt = await until(
      async () => {
        const print = await target.print();
        progress.update(`target ${print ?? 'not created yet'}; group lag ${fmt(await lagOf())} messages`);
        return print === expected;
      },
      `the ${this.source} target to equal the source (source ${expected})`,
      APPLY_TIMEOUT_MS,
      app,
    );
    const seconds = (doneAt - app.startedAt) / 1000;
    const streamingSeconds = streamingAt ? (doneAt - streamingAt) / 1000 : undefined;
    await app.stop();
    await target.end();
    await platform.end();
    progress.done(
      `${fmt(CHANGES)} changes applied ${fmt(seconds, 1)} s after the app's start = ${fmtRate(CHANGES / seconds)} changes/s` +
        (streamingSeconds ? ` (${fmt(streamingSeconds, 1)} s from "streaming slot")` : ''),
    );
    return { seconds, streamingSeconds, rate: CHANGES / seconds };
  }

  config(groupSinkLines: string[], sourceLines?: string[]): string {
    const path = join(this.dir, `${this.source}-${groupSinkLines.length ? 'app' : 'slot'}.yaml`);
    const groups = groupSinkLines.length
      ? ['groups:', '  - name: mirror', `    topics: ['${this.source}.*']`, ...groupSinkLines]
      : [];
    const sources = sourceLines ?? [sourceYaml(this.source, this.srcUrl, ['public.bench_rows'])];
    writeFileSync(path, `${['sources:', ...sources, ...groups].join('\n')}\n`);
    return path;
  }

  env(config: string): Record<string, string> {
    return { TRIBUTARY_DATABASE_URL: this.platformUrl, TRIBUTARY_CONFIG: config };
  }
}

async function connect(url: string, what: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  client.on('error', () => undefined); // reported by the next query; unhandled it would end the bench before cleanup
  onCleanup(`${what} connection`, () => client.end().catch(() => undefined)); // a second end() of an ended client is a no-op
  return client;
}

async function writeChanges(src: Client): Promise<void> {
  const progress = new Progress('source writes');
  let done = 0;
  const ranges = async (sql: string, from: number, to: number): Promise<void> => {
    for (let first = from; first <= to; first += TXN_ROWS) {
      await src.query(sql, [first, Math.min(to, first + TXN_ROWS - 1)]);
      done += Math.min(to, first + TXN_ROWS - 1) - first + 1;
      progress.count(done, CHANGES, 'changes');
    }
  };
  await ranges(INSERT_RANGE, 1, INSERTS);
  await ranges(UPDATE_RANGE, 1, UPDATES);
  await ranges(DELETE_RANGE, INSERTS - DELETES + 1, INSERTS);
  progress.done(
    `${fmt(CHANGES)} changes in ${fmt(Math.ceil(INSERTS / TXN_ROWS) + Math.ceil(UPDATES / TXN_ROWS) + Math.ceil(DELETES / TXN_ROWS))} transactions`,
  );
}

async function fingerprint(db: Client): Promise<string | undefined> {
  try {
    const r = (await db.query(FINGERPRINT)).rows[0];
    return `${r.n} rows, Σ amount ${Number(r.amount).toFixed(2)}, ${r.updated} updated`;
  } catch {
    return undefined; // no table yet
  }
}

async function mariaFingerprint(m: MariaDb): Promise<string | undefined> {
  try {
    const [rows] = await m.conn.query(FINGERPRINT);
    const r = (rows as Record<string, string>[])[0];
    return `${r.n} rows, Σ amount ${Number(r.amount).toFixed(2)}, ${r.updated} updated`;
  } catch {
    return undefined;
  }
}

/** Polls `done` every 100 ms; resolves with the time it first held. On timeout the app's output is shown. */
async function until(done: () => Promise<boolean>, what: string, timeoutMs: number, app?: AppProcess): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return Date.now();
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${app ? `:\n${app.output.slice(-3000)}` : ''}`);
    if (app && app.child.exitCode !== null)
      throw new Error(`the app exited (${app.child.exitCode}):\n${app.output.slice(-3000)}`);
    await sleep(100);
  }
}

/** CREATE SUBSCRIPTION over the pre-created slot, timed until the target equals the source; dropped afterwards. */
async function applyNative(cluster: BenchCluster, srcUrl: string, expected: string, digest: string): Promise<Applied> {
  const targetUrl = await cluster.createDatabase('target_native');
  await cluster.query('target_native', BENCH_TABLE_DDL);
  const target = await connect(targetUrl, 'native target');
  const progress = new Progress('CREATE SUBSCRIPTION');
  const started = Date.now();
  await target.query(
    `CREATE SUBSCRIPTION bench_native CONNECTION '${srcUrl}' PUBLICATION bench_native
       WITH (copy_data = false, create_slot = false, slot_name = 'bench_native')`,
  );
  onCleanup('subscription bench_native', () => dropSubscription(cluster, 'target_native', 'bench_native'));
  const doneAt = await until(
    async () => {
      const print = await fingerprint(target);
      progress.update(`target ${print}`);
      return print === expected;
    },
    `the native subscriber to equal the source (${expected})`,
    APPLY_TIMEOUT_MS,
  );
  const seconds = (doneAt - started) / 1000;
  if ((await target.query(ROWS_DIGEST)).rows[0].d !== digest)
    throw new Error('the native subscriber holds other rows than the source');
  await target.end();
  await dropSubscription(cluster, 'target_native', 'bench_native');
  progress.done(`${fmt(CHANGES)} changes applied in ${fmt(seconds, 2)} s = ${fmtRate(CHANGES / seconds)} changes/s`);
  return { seconds, rate: CHANGES / seconds };
}

async function dropSubscription(cluster: BenchCluster, database: string, name: string): Promise<void> {
  const exists = await cluster.query(database, 'SELECT 1 FROM pg_subscription WHERE subname = $1', [name]);
  if (exists.length) await cluster.query(database, `DROP SUBSCRIPTION ${name}`); // drops its slot on the source too
}

/** The change runs' slots go, so their WAL is not kept (and decoded) during the next phases. */
async function dropSlots(src: Client, slots: string[]): Promise<void> {
  for (const slot of slots) await src.query('SELECT pg_drop_replication_slot($1)', [slot]);
}

function pgbench(
  cluster: BenchCluster,
  args: string[],
  url: string,
  timeoutMs = 600_000,
): Promise<{ stdout: string; stderr: string }> {
  return run(join(cluster.binDir, 'pgbench'), [...args, url], { timeout: timeoutMs, maxBuffer: 16 * 2 ** 20 });
}

interface Load {
  native: number;
  tributary: number;
  /** Left out when BENCH_SYNC_ONLY=load. */
  lag?: LagRun;
}

/**
 * pgbench -i, then the subscription's own copy of its tables, then Tributary's initial snapshot of
 * `public.*`; that pipeline stays up for the pgbench run (lag).
 */
async function initialLoad(cluster: BenchCluster, dir: string): Promise<Load> {
  const oltpUrl = await cluster.createDatabase('oltp');
  await pgbench(cluster, ['-i', '-q', '-s', String(SCALE)], oltpUrl);
  const oltp = await connect(oltpUrl, 'oltp source');
  console.log(`  pgbench -i -s ${SCALE}: ${fmt(ACCOUNTS)} accounts`);

  const nativeUrl = await cluster.createDatabase('load_native');
  await pgbench(cluster, ['-i', '-I', 'dtp', '-s', String(SCALE)], nativeUrl); // the same empty tables, primary keys included
  await oltp.query('CREATE PUBLICATION bench_load FOR TABLES IN SCHEMA public');
  await oltp.query(`SELECT pg_create_logical_replication_slot('bench_load', 'pgoutput')`);
  const nativeTarget = await connect(nativeUrl, 'native load target');
  const nativeProgress = new Progress('CREATE SUBSCRIPTION (copy_data = true)');
  const nativeStart = Date.now();
  await nativeTarget.query(
    `CREATE SUBSCRIPTION bench_load CONNECTION '${oltpUrl}' PUBLICATION bench_load
       WITH (copy_data = true, create_slot = false, slot_name = 'bench_load')`,
  );
  onCleanup('subscription bench_load', () => dropSubscription(cluster, 'load_native', 'bench_load'));
  const nativeDone = await until(
    async () => {
      const { rows } = await nativeTarget.query(
        `SELECT count(*) FILTER (WHERE srsubstate NOT IN ('r', 's'))::int AS copying, (SELECT count(*) FROM pgbench_accounts)::int AS n
           FROM pg_subscription_rel`,
      );
      nativeProgress.update(`${rows[0].copying} tables copying; ${fmt(rows[0].n)} accounts`);
      return rows[0].copying === 0 && rows[0].n === ACCOUNTS;
    },
    'the subscription to copy pgbench_accounts',
    APPLY_TIMEOUT_MS,
  );
  const native = (nativeDone - nativeStart) / 1000;
  nativeProgress.done(`${fmt(ACCOUNTS)} accounts copied in ${fmt(native, 2)} s = ${fmtRate(ACCOUNTS / native)} rows/s`);
  await nativeTarget.end();
  await dropSubscription(cluster, 'load_native', 'bench_load');

  phase(`initial load: Tributary, snapshot of public.* into a postgres sink  (${uptime()})`);
  const targetUrl = await cluster.createDatabase('load_tributary');
  const platformUrl = await cluster.createDatabase('platform_oltp');
  const config = join(dir, 'oltp.yaml');
  // A source as a new user declares it: every table of the schema, the initial snapshot by default.
  writeFileSync(
    config,
    [
      'sources:',
      '  - name: oltp',
      `    url: ${oltpUrl}`,
      '    tables: [public.*]',
      'groups:',
      '  - name: mirror',
      `    topics: ['oltp.*']`,
    ]
      .concat(['    sink:', '      type: postgres', `      url: ${targetUrl}`])
      .join('\n') + '\n',
  );
  const target = await connect(targetUrl, 'Tributary load target');
  const platform = await connect(platformUrl, 'oltp platform');
  const app = new AppProcess('tributary', {
    TRIBUTARY_DATABASE_URL: platformUrl,
    TRIBUTARY_CONFIG: config,
    TRIBUTARY_API_PORT: String(await freePort()),
  });
  const loadProgress = new Progress('Tributary initial load');
  const loadDone = await until(
    async () => {
      const n = await target
        .query('SELECT count(*)::int AS n FROM pgbench_accounts')
        .then((r) => r.rows[0].n as number)
        .catch(() => 0);
      loadProgress.count(n, ACCOUNTS, 'accounts');
      return n === ACCOUNTS;
    },
    'Tributary to load pgbench_accounts',
    APPLY_TIMEOUT_MS,
    app,
  );
  const tributary = (loadDone - app.startedAt) / 1000;
  loadProgress.done(
    `${fmt(ACCOUNTS)} accounts in the target ${fmt(tributary, 1)} s after the app's start = ${fmtRate(ACCOUNTS / tributary)} rows/s`,
  );

  if (ONLY_LOAD) {
    await app.stop();
    return { native, tributary };
  }
  phase(`lag while pgbench -c ${PGBENCH_CLIENTS} -T ${PGBENCH_SECONDS} runs, every table captured  (${uptime()})`);
  const lag = await lagUnderLoad(cluster, oltpUrl, oltp, platform, target, app);
  await app.stop();
  return { native, tributary, lag };
}

/** BENCH_SYNC_ONLY=load: the initial load alone, its table printed, nothing recorded. */
async function loadOnly(cluster: BenchCluster, dir: string): Promise<void> {
  phase(`initial load: pgbench -i -s ${SCALE}  (${uptime()})`);
  const load = await initialLoad(cluster, dir);
  const table = loadTable(load);
  console.log(`\n== initial load only (${uptime()})\n`);
  table.print();
}

function loadTable(load: Load): Table {
  const table = new Table(['Initial load', 'Seconds', 'Rows/s', '÷ native']);
  table.add('CREATE SUBSCRIPTION (copy_data = true)', fmt(load.native, 2), fmtRate(ACCOUNTS / load.native), '100 %');
  table.add(
    'Tributary (initial snapshot, postgres sink)',
    fmt(load.tributary, 2),
    fmtRate(ACCOUNTS / load.tributary),
    `${fmt((load.native / load.tributary) * 100)} %`,
  );
  return table;
}

async function lagUnderLoad(
  cluster: BenchCluster,
  oltpUrl: string,
  oltp: Client,
  platform: Client,
  target: Client,
  app: AppProcess,
): Promise<LagRun> {
  const samples: Point[] = [];
  const others: Point[] = [];
  let maxRetained = 0;
  const started = Date.now();
  const progress = new Progress('pgbench');
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const lag = await groupLag(platform, 'mirror', 'oltp.%');
      const history = await groupLag(platform, 'mirror', 'oltp.public.pgbench\\_history');
      others.push({ seconds: (Date.now() - started) / 1000, value: lag - history });
      const retained = await slotRetainedBytes(oltp, 'tributary_oltp').catch(() => ({ confirmed: 0, restart: 0 }));
      maxRetained = Math.max(maxRetained, retained.confirmed);
      samples.push({ seconds: (Date.now() - started) / 1000, value: lag });
      progress.update(`group lag ${fmt(lag)} messages; slot ${fmt(retained.confirmed / 2 ** 20, 1)} MB unconfirmed`);
      await sleep(500);
    }
  })();
  const bench = await pgbench(
    cluster,
    ['-c', String(PGBENCH_CLIENTS), '-j', '2', '-T', String(PGBENCH_SECONDS), '-n'],
    oltpUrl,
    (PGBENCH_SECONDS + 120) * 1000,
  );
  const runSeconds = (Date.now() - started) / 1000;
  const tps = Number(/tps = ([\d.]+)/.exec(bench.stdout)?.[1] ?? NaN);
  progress.done(`${fmt(tps)} tps; max group lag so far ${fmt(Math.max(...samples.map((s) => s.value)))} messages`);

  const expected = JSON.stringify((await oltp.query(PGBENCH_FINGERPRINT)).rows[0]);
  const converge = new Progress('convergence');
  let convergedAt: number | undefined;
  const deadline = Date.now() + CONVERGE_SECONDS * 1000;
  while (Date.now() < deadline) {
    const now = await target
      .query(PGBENCH_FINGERPRINT)
      .then((r) => JSON.stringify(r.rows[0]))
      .catch(() => undefined);
    if (now === expected) {
      convergedAt = Date.now();
      break;
    }
    converge.update(`target not yet equal to the source; group lag ${fmt(samples[samples.length - 1]?.value ?? NaN)} messages`);
    if (app.child.exitCode !== null) throw new Error(`the app exited:\n${app.output.slice(-3000)}`);
    await sleep(250);
  }
  sampling = false;
  await sampler;
  const troubles = await troubledPartitions(platform, 'mirror');
  const convergedAfter = convergedAt ? (convergedAt - started) / 1000 - runSeconds : undefined;
  converge.done(
    convergedAfter !== undefined
      ? `target equals the source ${fmt(convergedAfter, 1)} s after the run`
      : `target NOT equal to the source ${CONVERGE_SECONDS} s after the run${troubles.length ? `; ${troubles.join('; ')}` : ''}`,
  );
  return {
    tps,
    maxLag: Math.max(...samples.map((s) => s.value)),
    maxOthersLag: Math.max(...others.map((s) => s.value)),
    maxRetainedMb: maxRetained / 2 ** 20,
    convergedAfter,
    samples,
    runSeconds,
    troubles,
  };
}

function mark(ok: boolean): string {
  return ok ? '✅ yes' : '❌ no';
}

function report(r: {
  cluster: BenchCluster;
  facts: ReturnType<typeof machineFacts>;
  native: Applied;
  tributary: Applied;
  maria?: Applied;
  mariadb?: MariaDb;
  load: Load;
}): void {
  const ratio = r.tributary.rate / r.native.rate;
  const streamingRatio = r.tributary.streamingSeconds ? r.native.seconds / r.tributary.streamingSeconds : undefined;
  const changes = new Table(['Consumer', 'Seconds', 'Changes/s', '÷ native']);
  changes.add('Postgres logical replication (CREATE SUBSCRIPTION)', fmt(r.native.seconds, 2), fmtRate(r.native.rate), '100 %');
  changes.add(
    'Tributary → Postgres (postgres sink, defaults)',
    `${fmt(r.tributary.seconds, 2)}${r.tributary.streamingSeconds ? ` (${fmt(r.tributary.streamingSeconds, 2)} streaming)` : ''}`,
    fmtRate(r.tributary.rate),
    `${fmt(ratio * 100)} %${streamingRatio ? ` (${fmt(streamingRatio * 100)} % without start-up)` : ''}`,
  );
  if (r.maria)
    changes.add(
      'Tributary → MariaDB (mysql sink, defaults)',
      fmt(r.maria.seconds, 2),
      fmtRate(r.maria.rate),
      `${fmt((r.maria.rate / r.native.rate) * 100)} %`,
    );
  else changes.add('Tributary → MariaDB', 'not run', `no server at ${MARIADB_URL}`, 'n/a');

  const load = loadTable(r.load);
  const lag = r.load.lag as LagRun;
  const lagTable = new Table(['pgbench run', 'Value']);
  lagTable.add('pgbench tps', fmt(lag.tps));
  lagTable.add('max group lag (messages)', fmt(lag.maxLag));
  lagTable.add('… of accounts, tellers and branches (without pgbench_history)', fmt(lag.maxOthersLag));
  lagTable.add('max unconfirmed slot WAL (MB; the platform database shares the cluster)', fmt(lag.maxRetainedMb, 1));
  lagTable.add(
    'target equals the source',
    lag.convergedAfter !== undefined
      ? `${fmt(lag.convergedAfter, 1)} s after the run`
      : `not within ${CONVERGE_SECONDS} s after the run (bounded wait)`,
  );
  if (lag.troubles.length) lagTable.add('partitions not ok', lag.troubles.map((t) => t.slice(0, 170)).join('; '));
  const lagChart = timeChart(lag.samples, {
    unit: 'group lag (messages) over time',
    markers: [{ seconds: lag.runSeconds, label: 'pgbench ends' }],
  });

  const chart = barChart(
    [
      { label: 'native replication', value: r.native.rate, text: `${fmtRate(r.native.rate)} changes/s` },
      { label: 'Tributary → Postgres', value: r.tributary.rate, text: `${fmtRate(r.tributary.rate)} changes/s` },
      ...(r.maria ? [{ label: 'Tributary → MariaDB', value: r.maria.rate, text: `${fmtRate(r.maria.rate)} changes/s` }] : []),
    ],
    40,
  );
  const targets = new Table(['Metric', 'Target', 'Measured', 'Met']);
  targets.add(
    'Tributary ÷ native replication (changes)',
    `≥ ${TARGETS.ratio * 100} %`,
    `${fmt(ratio * 100)} %`,
    mark(ratio >= TARGETS.ratio),
  );
  targets.add(
    'MariaDB changes/s',
    `≥ ${fmtRate(TARGETS.mariadb)}`,
    r.maria ? fmtRate(r.maria.rate) : 'not run',
    r.maria ? mark(r.maria.rate >= TARGETS.mariadb) : 'n/a',
  );
  const loadRatio = r.load.native / r.load.tributary;
  targets.add(
    'initial load ÷ CREATE SUBSCRIPTION copy',
    `≥ ${TARGETS.load * 100} %`,
    `${fmt(loadRatio * 100)} %`,
    mark(loadRatio >= TARGETS.load),
  );
  targets.add(
    'pgbench, every table captured: converges',
    'yes',
    lag.convergedAfter !== undefined ? `${fmt(lag.convergedAfter, 1)} s after the run` : `no (${CONVERGE_SECONDS} s bound)`,
    mark(lag.convergedAfter !== undefined),
  );

  console.log(`\n== results (${uptime()})\n`);
  changes.print();
  console.log(`\n${chart}\n`);
  load.print();
  console.log('');
  lagTable.print();
  console.log(`\n${lagChart}\n`);
  targets.print();

  recordSection(
    'sync',
    `## Postgres → Postgres sync (\`npm run bench:sync\`)

${factsMarkdown(
  r.facts,
  {
    Postgres: `${r.cluster.versionText} (${r.cluster.system ? 'system' : 'bundled'} binaries): source, targets and platform databases on one cluster, default settings, fsync on`,
    'MariaDB/MySQL': r.mariadb ? `${r.mariadb.version} at \`${MARIADB_URL}\`` : 'not reachable: left out',
    Workload: `${fmt(INSERTS)} inserts, ${fmt(UPDATES)} updates, ${fmt(DELETES)} deletes (${fmt(CHANGES)} changes, transactions of ${fmt(TXN_ROWS)} rows) into an 8-column table written while nothing consumed; \`pgbench -i -s ${SCALE}\` (${fmt(ACCOUNTS)} accounts) for the initial load; \`pgbench -c ${PGBENCH_CLIENTS} -j 2 -T ${PGBENCH_SECONDS} -n\` for the lag`,
    Tributary:
      'the all-in-one app (`dist/apps/tributary/src/main.js`), one group with a database sink, every setting at its default',
  },
  'npm run bench:sync   # sizes: BENCH_INSERTS, BENCH_UPDATES, BENCH_DELETES, BENCH_TXN_ROWS, BENCH_PGBENCH_SCALE, BENCH_PGBENCH_CLIENTS, BENCH_PGBENCH_SECONDS, BENCH_CONVERGE_SECONDS (recorded here only with BENCH_WRITE=1); BENCH_MYSQL_URL; BENCH_SYNC_ONLY=load for the initial load alone (printed, not recorded)',
)}

### Changes written while nothing consumed, then applied

${changes.markdown()}

${chartBlock(chart)}

### Initial load of an existing table (${fmt(ACCOUNTS)} rows)

${load.markdown()}

### Lag while pgbench runs, every table captured (\`tables: [public.*]\`, pgbench_history has no primary key)

${lagTable.markdown()}

${chartBlock(lagChart)}

### Targets (2-core machine)

${targets.markdown()}

### How it is measured

- **Slots first:** \`bench_native\` (\`pg_create_logical_replication_slot(..., 'pgoutput')\`) and Tributary's \`tributary_sync\` /
  \`tributary_syncmy\` (made by a first start of the capture app, stopped again) exist before the first write, so every
  consumer has the same WAL to decode. Each Tributary pipeline has its own platform database.
- **Native:** \`CREATE SUBSCRIPTION ... WITH (copy_data = false, create_slot = false, slot_name = 'bench_native')\` into a
  database holding the same (empty) table; timed from the statement until the target's row count, sum of \`amount\` and
  count of updated rows equal the source's (polled every 100 ms); then every row is compared (an md5 over all columns).
- **Tributary:** the all-in-one app started with the source and one group \`mirror\` (\`sink: {type: postgres, url}\`, nothing
  else set: the target table is created by the sink); timed from the process's start (Nest start-up, migrations check and
  source checks included; the time from its "streaming slot" log line is in parentheses) until the target equals the source
  as above, then every row is compared. MariaDB: the same with \`type: mysql\` and its own slot, after the Postgres run.
- **Initial load:** \`CREATE SUBSCRIPTION ... copy_data = true\` over a pre-created slot, \`FOR TABLES IN SCHEMA public\`, into
  tables made by \`pgbench -i -I dtp\`, timed until every table is synchronised and \`pgbench_accounts\` holds ${fmt(ACCOUNTS)} rows;
  Tributary: the all-in-one app with \`tables: [public.*]\` (initial snapshot by default) and a \`postgres\` sink, timed from
  its start until the target's \`pgbench_accounts\` holds ${fmt(ACCOUNTS)} rows.
- **Lag:** that pipeline keeps running while pgbench runs; the group's lag (messages appended but not committed, over
  every partition) is sampled every 500 ms, and after the run the target is polled until its sums of balances and its
  count of history rows equal the source's, for at most ${CONVERGE_SECONDS} s.`,
    KNOBS,
  );
}
