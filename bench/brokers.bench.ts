/**
 * `npm run bench:brokers`: the broker sinks (bench/brokers/<kind>.ts, each a BrokerTarget).
 *
 * 1. Throughput: a topic pre-filled with BENCH_BROKER_MESSAGES messages is drained by a worker process
 *    (dist/apps/worker) into the broker; messages/s from the first message readable there to the last. The
 *    plain client's best publish of the same bodies to a destination of its own, in the same run, is the
 *    baseline (the ratio is the sink's share of it).
 * 2. Latency: the all-in-one app (capture + worker) on a source table written at BENCH_RATE changes/s;
 *    latency is the time a message becomes readable from the broker minus its source commit time
 *    (`source.ts_ms` in the envelope).
 *
 * Prints a table and replaces the "brokers" section of docs/benchmarks.md.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, type Pool } from 'pg';
import { sleep } from '@tributary/timing';
import { TopicLog } from '@tributary/topic-log';
import { AppProcess } from './support/app';
import type { BrokerTarget } from './support/broker-bench';
import { onCleanup, runBench } from './support/cleanup';
import { BenchCluster } from './support/cluster';
import { benchRecords } from './support/envelopes';
import { createTopic, openPlatform, quietLibraries } from './support/platform';
import { factsMarkdown, machineFacts, recordSection } from './support/report';
import { percentile } from './support/stats';

const MESSAGES = Number(process.env.BENCH_BROKER_MESSAGES ?? 100_000);
const RATE = Number(process.env.BENCH_RATE ?? 2_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const KINDS = (process.env.BENCH_BROKERS ?? 'nats,redis,rabbitmq').split(',').filter(Boolean);
const PARTITIONS = 4;
const KNOBS = ['BENCH_BROKER_MESSAGES', 'BENCH_RATE', 'BENCH_SECONDS', 'BENCH_BROKERS'];

interface Result {
  name: string;
  perSecond: number;
  plainPerSecond: number;
  p50: number;
  p99: number;
  latencyMessages: number;
}

/** The kinds whose target file is in this build (each broker's lib lands on its own). */
function targets(): { kind: string; target: BrokerTarget }[] {
  return KINDS.flatMap((kind) => {
    const file = join(__dirname, 'brokers', `${kind}.js`);
    if (!existsSync(file)) {
      console.error(`no bench/brokers/${kind}.ts in this build: ${kind} left out`);
      return [];
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the targets present are found at run time
    const { target } = require(file) as { target: BrokerTarget };
    return [{ kind, target }];
  });
}

/** Polls `probe` until it is true, failing with the app's output after `timeoutMs`. */
async function until(probe: () => Promise<boolean> | boolean, what: string, timeoutMs: number, app?: AppProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${app?.output.slice(-3000) ?? ''}`);
    await sleep(50);
  }
}

/** A run's destinations are set up now and torn down at cleanup. */
async function destination(target: BrokerTarget, runId: string): Promise<string> {
  await target.setUp(runId);
  onCleanup(`${target.name} ${runId}`, () => target.tearDown(runId));
  return runId;
}

async function prefill(pool: Pool, topic: string): Promise<string[]> {
  await createTopic(pool, topic, PARTITIONS);
  const bodies: string[] = [];
  for (let from = 0; from < MESSAGES; from += 5_000) {
    const records = benchRecords({
      source: 'bench',
      topic,
      partitions: PARTITIONS,
      from,
      count: Math.min(5_000, MESSAGES - from),
    });
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await TopicLog.append(client, records);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    for (const r of records) bodies.push(r.envelope);
  }
  return bodies;
}

async function throughput(target: BrokerTarget, kind: string, pool: Pool, platformUrl: string, dir: string) {
  const runId = await destination(target, `${kind}${Date.now().toString(36)}`);
  const topic = `t${runId}.public.bench_rows`;
  const bodies = await prefill(pool, topic);
  const plainRun = await destination(target, `${runId}p`);
  const started = performance.now();
  await target.plainPublish(plainRun, bodies);
  const plainPerSecond = bodies.length / ((performance.now() - started) / 1_000);

  const file = join(dir, `${runId}.yaml`);
  const sink = JSON.stringify(target.sink(runId));
  writeFileSync(
    file,
    [
      'retentionCheckIntervalMs: 3600000',
      'groups:',
      `  - { name: g${runId}, topics: [${topic}], members: 4, sink: ${sink} }`,
    ].join('\n'),
  );
  const worker = new AppProcess('worker', {
    TRIBUTARY_DATABASE_URL: platformUrl,
    TRIBUTARY_CONFIG: file,
    TRIBUTARY_LOG_LEVEL: 'warn',
  });
  let first: { at: number; count: number } | undefined;
  await until(
    async () => {
      const count = await target.readCount(runId);
      if (!first && count > 0) first = { at: performance.now(), count };
      return count >= MESSAGES;
    },
    `${target.name}: all ${MESSAGES} messages`,
    600_000,
    worker,
  );
  const at = first as { at: number; count: number };
  const perSecond = (MESSAGES - at.count) / Math.max(0.001, (performance.now() - at.at) / 1_000);
  await worker.stop();
  return { perSecond, plainPerSecond };
}

async function latency(target: BrokerTarget, kind: string, cluster: BenchCluster, platformUrl: string, dir: string) {
  const runId = await destination(target, `${kind}${Date.now().toString(36)}l`);
  const table = `lat_${runId.toLowerCase()}`;
  await cluster.query('source', `CREATE TABLE public.${table} (id bigserial PRIMARY KEY, amount numeric, note text)`);
  const file = join(dir, `${runId}.yaml`);
  writeFileSync(
    file,
    [
      'retentionCheckIntervalMs: 3600000',
      'topicDefaults: { partitions: 4 }',
      'sources:',
      `  - { name: s${runId.toLowerCase()}, url: "${cluster.url('source')}", tables: [public.${table}], snapshot: never }`,
      'groups:',
      `  - { name: l${runId}, topics: [s${runId.toLowerCase()}.public.${table}], members: 4, sink: ${JSON.stringify(target.sink(runId))} }`,
    ].join('\n'),
  );
  const app = new AppProcess('tributary', {
    TRIBUTARY_DATABASE_URL: platformUrl,
    TRIBUTARY_CONFIG: file,
    TRIBUTARY_LOG_LEVEL: 'warn',
    TRIBUTARY_API_PORT: '0',
  });
  let measureFrom = Number.POSITIVE_INFINITY;
  const latencies: number[] = [];
  let received = 0;
  const stop = await target.consume(runId, (body) => {
    received++;
    const ts = (JSON.parse(body) as { source?: { ts_ms?: number } }).source?.ts_ms;
    if (ts !== undefined && ts >= measureFrom) latencies.push(Date.now() - ts);
  });
  const source = new Client({ connectionString: cluster.url('source') });
  await source.connect();
  try {
    await until(
      async () => {
        await source.query(`INSERT INTO public.${table} (amount, note) VALUES (1, 'warm-up')`);
        await sleep(200);
        return received > 0;
      },
      `${target.name}: the pipeline to deliver`,
      120_000,
      app,
    );
    const perTick = Math.max(1, Math.round(RATE / 100)); // a transaction every 10 ms
    const write = async (seconds: number): Promise<number> => {
      const start = performance.now();
      let written = 0;
      for (let tick = 0; written < RATE * seconds; tick++) {
        const wait = start + tick * 10 - performance.now();
        if (wait > 0) await sleep(wait);
        await source.query(
          `INSERT INTO public.${table} (amount, note) SELECT g * 1.5, 'row ' || g FROM generate_series(1, $1) g`,
          [perTick],
        );
        written += perTick;
      }
      return written;
    };
    await write(3); // warm-up at the rate, not measured
    measureFrom = Date.now();
    const written = await write(SECONDS);
    await until(() => latencies.length >= written, `${target.name}: every measured row`, 120_000, app);
  } finally {
    await source.end();
    await stop();
    await app.stop();
  }
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), n: latencies.length };
}

function table(results: Result[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${Math.round(r.perSecond).toLocaleString('en')} | ${Math.round(r.plainPerSecond).toLocaleString('en')} | ` +
      `${Math.round((r.perSecond / r.plainPerSecond) * 100)} % | ${r.p50.toFixed(0)} ms | ${r.p99.toFixed(0)} ms |`,
  );
  return [
    '| Broker | Sink messages/s | Plain client messages/s | Ratio (target ≥ 50 %) | p50 commit → readable | p99 (target < 50 ms) |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

async function main(): Promise<void> {
  quietLibraries();
  const facts = machineFacts();
  const cluster = await BenchCluster.start();
  const platformUrl = await cluster.createDatabase('platform');
  await cluster.createDatabase('source');
  const pool = await openPlatform(platformUrl);
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-brokers-'));
  onCleanup('bench files', () => rmSync(dir, { recursive: true, force: true }));
  const results: Result[] = [];
  for (const { kind, target } of targets()) {
    console.error(`${target.name}: throughput of ${MESSAGES.toLocaleString('en')} messages...`);
    const t = await throughput(target, kind, pool, platformUrl, dir);
    console.error(`${target.name}: latency at ${RATE} changes/s for ${SECONDS} s...`);
    const l = await latency(target, kind, cluster, platformUrl, dir);
    results.push({ name: target.name, ...t, p50: l.p50, p99: l.p99, latencyMessages: l.n });
  }
  const text = table(results);
  console.log(`\n${text}`);
  recordSection(
    'brokers',
    [
      '## Broker sinks (`npm run bench:brokers`)',
      '',
      text,
      '',
      `Throughput: a topic of ${MESSAGES.toLocaleString('en')} messages (${PARTITIONS} partitions) drained by a worker process ` +
        '(4 members) into each broker, from the first message readable there to the last; the plain client publishes the ' +
        "same bodies with the broker's official client as a careful user would (pipelined), in the same run. Latency: the " +
        `all-in-one app on a source table written at ${RATE.toLocaleString('en')} changes/s for ${SECONDS} s, readable time ` +
        'minus the source commit time. Brokers: the machine’s own (NATS 4222, Redis 6379, RabbitMQ 5672), one replica.',
      '',
      factsMarkdown(facts, { Postgres: cluster.versionText }, 'npm run bench:brokers'),
    ].join('\n'),
    KNOBS,
  );
}

runBench('bench:brokers', main);
