/**
 * `npm run bench:fanout`: four webhook groups with default settings on one captured table, the all-in-one
 * app, single-row source transactions at a steady rate:
 *
 * 1. steady: commit-to-receipt latency (p50/p99) per consumer;
 * 2. one endpoint down (503, or refusing connections): the healthy consumers' p99, the source slot's
 *    retained WAL, the app's RSS;
 * 3. healed: seconds until the down consumer has caught up, and per-key reorders at every consumer.
 *
 * Receivers are node:http servers in this process on loopback. Environment: BENCH_RATE (200 transactions/s),
 * BENCH_SECONDS (60), BENCH_DOWN_SECONDS (60), BENCH_DOWN_MODE (503 or refuse), BENCH_KEYS (200),
 * BENCH_CATCHUP_TIMEOUT_SECONDS (300), BENCH_POSTGRES=bundled (Postgres 18 instead of the system's 15).
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '@tributary/local-postgres';
import { generateWebhookSecret } from '@tributary/webhook-sink';
import { AppProcess } from './support/app';
import { onCleanup, runBench } from './support/cleanup';
import { sleep } from '@tributary/timing';
import { BenchCluster, tempDir, waitUntil } from './support/cluster';
import { positiveEnv } from './support/env';
import { HookReceiver } from './support/hook-receiver';
import { slotRetainedBytes } from './support/pipeline';
import { fmtRate, phase, Progress } from './support/progress';
import { chartBlock, factsMarkdown, machineFacts, recordSection, uptime } from './support/report';
import { RssSampler } from './support/rss';
import { sourceYaml } from './support/source-config';
import { summarize, type Summary } from './support/stats';
import { fmt, Table } from './support/table';
import { type Point, timeChart } from './support/timeline';

const RATE = positiveEnv('BENCH_RATE', 200);
const SECONDS = positiveEnv('BENCH_SECONDS', 60);
const DOWN_SECONDS = positiveEnv('BENCH_DOWN_SECONDS', 60);
const KEYS = positiveEnv('BENCH_KEYS', 200);
const CATCHUP_TIMEOUT_MS = positiveEnv('BENCH_CATCHUP_TIMEOUT_SECONDS', 300) * 1000;
const DOWN_MODE = (process.env.BENCH_DOWN_MODE ?? '503') as '503' | 'refuse';
if (DOWN_MODE !== '503' && DOWN_MODE !== 'refuse') throw new Error('BENCH_DOWN_MODE: 503 or refuse');
const KNOBS = [
  'BENCH_RATE',
  'BENCH_SECONDS',
  'BENCH_DOWN_SECONDS',
  'BENCH_DOWN_MODE',
  'BENCH_KEYS',
  'BENCH_APP_NODE_ARGS',
  'BENCH_POSTGRES',
];
const CONSUMERS = 4;
const SLOT = 'tributary_fan';
const TARGETS = { p99: 50, p50: 15, retainedMb: 1, catchUp: 3_000, rssMb: 150 };

/**
 * Single-row transactions at RATE per second: transaction `seq` sets row `seq % KEYS + 1` to `seq`. Each key's
 * writes go through one connection (of four), so per key the source order is the `seq` order.
 */
class Writer {
  seq = 0;
  private readonly queues: Promise<void>[] = [];
  private timer?: NodeJS.Timeout;
  private startedAt = 0;
  private firstSeq = 0;
  failure?: Error;

  private constructor(private readonly clients: Client[]) {
    this.queues = clients.map(() => Promise.resolve());
  }

  static async open(url: string): Promise<Writer> {
    const clients: Client[] = [];
    for (let i = 0; i < 4; i++) {
      const c = new Client({ connectionString: url });
      await c.connect();
      c.on('error', () => undefined);
      onCleanup('writer connection', () => c.end().catch(() => undefined));
      clients.push(c);
    }
    return new Writer(clients);
  }

  start(): void {
    this.startedAt = Date.now();
    this.firstSeq = this.seq;
    this.timer = setInterval(() => this.tick(), 5);
  }

  /** Stops writing; resolves once every write started has committed. Returns the last seq written. */
  async stop(): Promise<number> {
    clearInterval(this.timer);
    await this.flushed();
    return this.seq;
  }

  /** Resolves once every write enqueued so far has committed; returns the highest seq among them. */
  async flushed(): Promise<number> {
    const upTo = this.seq;
    await Promise.all(this.queues);
    if (this.failure) throw this.failure;
    return upTo;
  }

  private tick(): void {
    const due = this.firstSeq + Math.floor(((Date.now() - this.startedAt) / 1000) * RATE);
    while (this.seq < due) {
      const seq = ++this.seq;
      const key = (seq % KEYS) + 1;
      const q = key % this.clients.length;
      this.queues[q] = this.queues[q].then(() =>
        this.clients[q]
          .query('UPDATE fan_rows SET seq = $1, note = $2 WHERE id = $3', [seq, `change ${seq}`, key])
          .then(() => undefined)
          .catch((error: Error) => void (this.failure ??= error)),
      );
    }
  }
}

interface Steady {
  perConsumer: Summary[];
}

interface Outage {
  healthy: Summary[];
  /** Max of current − restart_lsn while the endpoint was down, and in the steady phase before (for comparison). */
  retainedRestartMb: number;
  steadyRestartMb: number;
  /** Max of current − confirmed_flush_lsn while the endpoint was down: what capture has not acknowledged. */
  retainedConfirmedMb: number;
  rssPeakMb: number;
  failedRequests: number;
}

interface Healing {
  backlog: number;
  seconds?: number;
  firstDeliverySeconds?: number;
  rate?: number;
  reorders: number[];
  duplicates: number[];
  complete: boolean[];
}

runBench('bench:fanout', async () => {
  const facts = machineFacts();
  console.log(
    `bench:fanout: ${CONSUMERS} webhook groups, ${RATE} single-row transactions/s: ${SECONDS} s steady, ${DOWN_SECONDS} s with one endpoint down (${DOWN_MODE}), then healed`,
  );
  console.log(`machine: ${facts.cores} cores, ${facts.cpu}, Node ${facts.node}; ${facts.loadBefore}`);

  phase('setup');
  const cluster = await BenchCluster.start();
  console.log(`Postgres: ${cluster.versionText} (${cluster.system ? 'system' : 'bundled'} binaries)`);
  const srcUrl = await cluster.createDatabase('src');
  const platformUrl = await cluster.createDatabase('platform');
  await cluster.query('src', 'CREATE TABLE fan_rows (id int PRIMARY KEY, seq bigint NOT NULL, note text)');
  await cluster.query('src', `INSERT INTO fan_rows SELECT g, 0, 'initial' FROM generate_series(1, ${KEYS}) g`);
  const receivers = Array.from({ length: CONSUMERS }, (_, i) => new HookReceiver(`hook-${i + 1}`));
  for (const r of receivers) await r.start();
  const dir = tempDir('tributary-bench-fanout-');
  const config = join(dir, 'fanout.yaml');
  const secret = generateWebhookSecret();
  writeFileSync(
    config,
    [
      'sources:',
      sourceYaml('fan', srcUrl, ['public.fan_rows']),
      'groups:',
      ...receivers.flatMap((r) => [
        `  - name: ${r.name}`,
        '    topics: [fan.public.fan_rows]',
        '    sink:',
        '      type: webhook',
        `      url: ${r.url}`,
        `      secrets: [${secret}]`,
        '      allowPrivateNetworks: true', // loopback; the only setting given beyond the required ones
      ]),
    ].join('\n') + '\n',
  );
  const app = new AppProcess('tributary', {
    TRIBUTARY_DATABASE_URL: platformUrl,
    TRIBUTARY_CONFIG: config,
    TRIBUTARY_API_PORT: String(await freePort()),
  });
  const rss = new RssSampler(app.pid, 200).start();
  const src = new Client({ connectionString: srcUrl });
  await src.connect();
  src.on('error', () => undefined);
  onCleanup('source connection', () => src.end());
  const platform = new Client({ connectionString: platformUrl });
  await platform.connect();
  platform.on('error', () => undefined);
  onCleanup('platform connection', () => platform.end());
  const writer = await Writer.open(srcUrl);

  phase('warm-up: until every consumer receives and every group has its 4 members on the 4 partitions');
  await app.waitForOutput(new RegExp(`streaming slot ${SLOT} `), 120_000); // the slot exists: no write before it is lost
  writer.start();
  await waitUntil(() => receivers.every((r) => r.seqs.size > 0), 'every consumer to receive a message', 120_000, 100);
  await waitUntil(
    async () => {
      const { rows } = await platform.query(
        `SELECT count(DISTINCT group_name)::int AS n FROM (
           SELECT group_name FROM tributary.partition_leases GROUP BY group_name HAVING count(DISTINCT member_id) = 4) g`,
      );
      return rows[0].n === CONSUMERS;
    },
    'every group to spread its partitions over its members',
    60_000,
    200,
  ).catch(() => console.log('  NOTE: the groups did not spread their partitions over 4 members within 60 s; measuring anyway'));
  await sleep(2_000);

  phase(`steady: ${RATE} transactions/s for ${SECONDS} s  (${uptime()})`);
  const backlog: Point[] = [];
  const retained: Point[] = [];
  const unconfirmed: Point[] = [];
  const rssPoints: Point[] = [];
  const t0 = Date.now();
  const markers: { seconds: number; label: string }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const at = (Date.now() - t0) / 1000;
      backlog.push({ seconds: at, value: Math.max(0, writer.seq - receivers[CONSUMERS - 1].seqs.size) });
      const slot = await slotRetainedBytes(src, SLOT).catch(() => ({ restart: 0, confirmed: 0 }));
      retained.push({ seconds: at, value: slot.restart / 2 ** 20 });
      unconfirmed.push({ seconds: at, value: slot.confirmed / 2 ** 20 });
      rssPoints.push({ seconds: at, value: (rss.samplesKb[rss.samplesKb.length - 1] ?? 0) / 1024 });
      await sleep(500);
    }
  })();
  const steady = await measure(receivers, SECONDS, 'steady');

  phase(`${receivers[CONSUMERS - 1].name} down (${DOWN_MODE}) for ${DOWN_SECONDS} s  (${uptime()})`);
  markers.push({ seconds: (Date.now() - t0) / 1000, label: `${receivers[CONSUMERS - 1].name} down` });
  const downFrom = retained.length;
  const rssBefore = rss.peakKb;
  await receivers[CONSUMERS - 1].down(DOWN_MODE);
  const outageSteady = await measure(receivers.slice(0, CONSUMERS - 1), DOWN_SECONDS, 'one down');
  const down = retained.slice(downFrom);
  const outage: Outage = {
    healthy: outageSteady.perConsumer,
    retainedRestartMb: Math.max(0, ...down.map((p) => p.value)),
    steadyRestartMb: Math.max(0, ...retained.slice(0, downFrom).map((p) => p.value)),
    retainedConfirmedMb: Math.max(0, ...unconfirmed.slice(downFrom).map((p) => p.value)),
    rssPeakMb: Math.max(rssBefore, rss.peakKb) / 1024,
    failedRequests: receivers[CONSUMERS - 1].failedRequests,
  };

  phase(`healed  (${uptime()})`);
  const healAt = Date.now();
  markers.push({ seconds: (healAt - t0) / 1000, label: 'healed' });
  const healSeq = await writer.flushed();
  const downReceiver = receivers[CONSUMERS - 1];
  const behind = healSeq - downReceiver.receivedUpTo(healSeq);
  await downReceiver.up();
  const progress = new Progress(`${downReceiver.name} catching up`);
  let firstDeliveryAt: number | undefined;
  const received = downReceiver.seqs.size;
  const caughtUpAt = await waitUntil(
    () => {
      if (firstDeliveryAt === undefined && downReceiver.seqs.size > received) firstDeliveryAt = Date.now();
      const got = downReceiver.receivedUpTo(healSeq);
      progress.count(got - (healSeq - behind), behind, 'messages');
      return got === healSeq ? Date.now() : undefined;
    },
    'the healed consumer to catch up',
    CATCHUP_TIMEOUT_MS,
    50,
  ).catch(() => undefined);
  if (caughtUpAt) markers.push({ seconds: (caughtUpAt - t0) / 1000, label: 'caught up' });
  progress.done(
    caughtUpAt
      ? `${fmt(behind)} messages behind, caught up in ${fmt((caughtUpAt - healAt) / 1000, 1)} s`
      : `NOT caught up within ${CATCHUP_TIMEOUT_MS / 1000} s`,
  );
  const lastSeq = await writer.stop();
  const complete = await waitUntil(
    () => receivers.every((r) => r.receivedUpTo(lastSeq) === lastSeq),
    'every consumer to receive every message',
    caughtUpAt ? 60_000 : 10_000,
    100,
  ).catch(() => false);
  sampling = false;
  await sampler;
  rss.stop();
  await app.stop();
  const healing: Healing = {
    backlog: behind,
    seconds: caughtUpAt ? (caughtUpAt - healAt) / 1000 : undefined,
    firstDeliverySeconds: firstDeliveryAt ? (firstDeliveryAt - healAt) / 1000 : undefined,
    rate: caughtUpAt ? behind / ((caughtUpAt - healAt) / 1000) : undefined,
    reorders: receivers.map((r) => r.reorders),
    duplicates: receivers.map((r) => r.duplicates),
    complete: receivers.map((r) => complete !== false && r.receivedUpTo(lastSeq) === lastSeq),
  };
  report({ cluster, facts, receivers, steady, outage, healing, backlog, retained, rssPoints, markers, written: lastSeq });
});

/** Resets the latencies, waits `seconds` (the writer keeps writing), and summarises each receiver's. */
async function measure(receivers: HookReceiver[], seconds: number, label: string): Promise<Steady> {
  for (const r of receivers) r.resetLatencies();
  const progress = new Progress(label);
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    progress.update(receivers.map((r) => `${r.name} p99 ${fmt(summarize(r.latencies).p99)} ms`).join(', '));
    await sleep(1_000);
  }
  const perConsumer = receivers.map((r) => summarize(r.latencies));
  progress.done(
    perConsumer.map((s, i) => `${receivers[i].name} ${fmt(s.count)} msgs p50 ${fmt(s.p50)} p99 ${fmt(s.p99)} ms`).join('; '),
  );
  return { perConsumer };
}

function mark(ok: boolean): string {
  return ok ? '✅ yes' : '❌ no';
}

function report(r: {
  cluster: BenchCluster;
  facts: ReturnType<typeof machineFacts>;
  receivers: HookReceiver[];
  steady: Steady;
  outage: Outage;
  healing: Healing;
  backlog: Point[];
  retained: Point[];
  rssPoints: Point[];
  markers: { seconds: number; label: string }[];
  written: number;
}): void {
  const names = r.receivers.map((x) => x.name);
  const steady = new Table(['Consumer', 'Messages', 'p50 ms', 'p99 ms', 'max ms', `p99 while ${names[CONSUMERS - 1]} is down`]);
  r.steady.perConsumer.forEach((s, i) => {
    const o = r.outage.healthy[i];
    steady.add(
      names[i],
      fmt(s.count),
      fmt(s.p50),
      fmt(s.p99),
      fmt(s.max),
      o ? `${fmt(o.p99)} ms (${fmt(o.count)} msgs)` : 'down',
    );
  });
  const outage = new Table(['While one endpoint is down', 'Value']);
  outage.add(
    DOWN_MODE === '503' ? '503 answers of the down endpoint' : 'connections refused (not counted)',
    fmt(r.outage.failedRequests),
  );
  outage.add(
    "source slot's retained WAL, max (current − restart_lsn)",
    `${fmt(r.outage.retainedRestartMb, 2)} MB (steady phase: ${fmt(r.outage.steadyRestartMb, 2)} MB)`,
  );
  outage.add('source slot not acknowledged, max (current − confirmed_flush_lsn)', `${fmt(r.outage.retainedConfirmedMb, 2)} MB`);
  outage.add('all-in-one process RSS, peak so far', `${fmt(r.outage.rssPeakMb)} MB`);
  const healing = new Table(['After healing', 'Value']);
  healing.add('messages behind at healing', fmt(r.healing.backlog));
  healing.add(
    'first delivery after healing',
    r.healing.firstDeliverySeconds !== undefined ? `${fmt(r.healing.firstDeliverySeconds, 1)} s` : 'none',
  );
  healing.add(
    'caught up after',
    r.healing.seconds !== undefined
      ? `${fmt(r.healing.seconds, 1)} s = ${fmtRate(r.healing.rate as number)} messages/s`
      : `not within ${CATCHUP_TIMEOUT_MS / 1000} s`,
  );
  if (
    r.healing.seconds !== undefined &&
    r.healing.firstDeliverySeconds !== undefined &&
    r.healing.seconds > r.healing.firstDeliverySeconds
  )
    healing.add(
      'catch-up rate from the first delivery on',
      `${fmtRate(r.healing.backlog / (r.healing.seconds - r.healing.firstDeliverySeconds))} messages/s`,
    );
  r.receivers.forEach((x, i) =>
    healing.add(
      `${x.name}: reorders / duplicates / all ${fmt(r.written)} received`,
      `${r.healing.reorders[i]} / ${r.healing.duplicates[i]} / ${r.healing.complete[i] ? 'yes' : 'no'}`,
    ),
  );
  const worstP99 = Math.max(...r.steady.perConsumer.map((s) => s.p99));
  const worstP50 = Math.max(...r.steady.perConsumer.map((s) => s.p50));
  const healthyWorse = r.outage.healthy.map((o, i) => o.p99 / Math.max(1, r.steady.perConsumer[i].p99));
  const worstRatio = Math.max(...healthyWorse);
  const reorders = r.healing.reorders.reduce((a, b) => a + b, 0);
  const targets = new Table(['Metric', 'Target', 'Measured', 'Met']);
  targets.add('worst consumer p99 (steady)', `< ${TARGETS.p99} ms`, `${fmt(worstP99)} ms`, mark(worstP99 < TARGETS.p99));
  targets.add('worst consumer p50 (steady)', `< ${TARGETS.p50} ms`, `${fmt(worstP50)} ms`, mark(worstP50 < TARGETS.p50));
  targets.add(
    'healthy consumers p99 while one is down',
    'unchanged (≤ 1.2 × steady)',
    `${fmt(Math.max(...r.outage.healthy.map((o) => o.p99)))} ms (${fmt(worstRatio, 2)} × steady)`,
    mark(worstRatio <= 1.2),
  );
  targets.add(
    'retained slot WAL while one is down',
    `< ${TARGETS.retainedMb} MB`,
    `${fmt(r.outage.retainedRestartMb, 2)} MB from restart_lsn (${fmt(r.outage.steadyRestartMb, 2)} MB when all are up), ${fmt(r.outage.retainedConfirmedMb, 2)} MB unacknowledged`,
    mark(r.outage.retainedRestartMb < TARGETS.retainedMb),
  );
  targets.add(
    'catch-up per group',
    `≥ ${fmtRate(TARGETS.catchUp)} messages/s`,
    r.healing.rate !== undefined ? `${fmtRate(r.healing.rate)} messages/s` : 'did not catch up',
    mark((r.healing.rate ?? 0) >= TARGETS.catchUp),
  );
  targets.add('per-key reorders, every consumer', '0', fmt(reorders), mark(reorders === 0));
  targets.add(
    'all-in-one RSS',
    `≤ ${TARGETS.rssMb} MB`,
    `${fmt(r.outage.rssPeakMb)} MB`,
    mark(r.outage.rssPeakMb <= TARGETS.rssMb),
  );

  const backlogChart = timeChart(r.backlog, {
    unit: `${names[CONSUMERS - 1]}: messages written but not received, over time`,
    markers: r.markers,
  });
  const rssChart = timeChart(r.rssPoints, { unit: 'all-in-one process RSS (MB) over time', height: 5, markers: r.markers });

  const loaded = loadavg()[0] > 2 * r.facts.cores;
  const loadNote = loaded
    ? `\n> **The machine was loaded** (1-minute load ${fmt(loadavg()[0], 1)} on ${r.facts.cores} cores at the end): latencies here say more about the other processes than about Tributary; compare only with numbers from the same run.\n`
    : '';
  console.log(`\n== results (${uptime()})\n${loadNote}`);
  steady.print();
  console.log('');
  outage.print();
  console.log('');
  healing.print();
  console.log(`\n${backlogChart}\n\n${rssChart}\n`);
  targets.print();

  recordSection(
    'fanout',
    `## Webhook fan-out under the defaults (\`npm run bench:fanout\`)

${factsMarkdown(
  r.facts,
  {
    Postgres: `${r.cluster.versionText} (${r.cluster.system ? 'system' : 'bundled'} binaries): source and platform databases on one cluster, default settings, fsync on`,
    Workload: `${RATE} single-row transactions/s (\`UPDATE\` of one of ${KEYS} rows), ${SECONDS} s steady, ${DOWN_SECONDS} s with ${names[CONSUMERS - 1]} down (${DOWN_MODE === '503' ? 'answering 503' : 'refusing connections'}), then healed; ${fmt(r.written)} transactions in all`,
    Tributary: `the all-in-one app, ${CONSUMERS} webhook groups on the table, every setting at its default (\`allowPrivateNetworks: true\` for loopback)`,
  },
  'npm run bench:fanout   # BENCH_RATE, BENCH_SECONDS, BENCH_DOWN_SECONDS, BENCH_DOWN_MODE=503|refuse, BENCH_KEYS, BENCH_POSTGRES=bundled (recorded here only with BENCH_WRITE=1)',
)}

${loadNote}
### Commit-to-receipt latency per consumer

${steady.markdown()}

### One endpoint down for ${DOWN_SECONDS} s

${outage.markdown()}

### Healed

${healing.markdown()}

${chartBlock(backlogChart)}

${chartBlock(rssChart)}

### Targets (2-core machine)

${targets.markdown()}

### How it is measured

- The receivers are \`node:http\` servers in the bench process on 127.0.0.1, answering 204 at once. Latency is the time of
  a message's first receipt minus its source commit time (\`source.ts_ms\` in the envelope; one machine, one clock).
- The writer runs ${RATE} single-row \`UPDATE\` transactions per second over four connections, each key always on the same
  connection, so per key the source order is the order of the written \`seq\`. A reorder is a message of a key arriving
  after a message of that key with a higher \`seq\`; duplicates (same envelope id) are counted apart.
- After a warm-up (every consumer has received a message and every group's 4 members hold a partition each), the steady
  phase's latencies are taken, then those of the healthy consumers while ${names[CONSUMERS - 1]} fails every request. The
  writes go on throughout. Retained WAL: \`pg_current_wal_lsn() − restart_lsn\` (what the slot keeps) and \`− confirmed_flush_lsn\` (what capture has not
  acknowledged) of the source slot every 500 ms; restart_lsn moves only at running-transactions records (the server's own every
  15 s; on Postgres 16+ also capture's, one a second), so it is shown for the steady phase too (the platform
  database is on the same cluster, so its WAL counts too). RSS: \`VmHWM\`/\`VmRSS\` of the app process.
- Catch-up: from the moment the endpoint answers again until it has received every message written before that moment
  (the backoff and the circuit breaker's cooldown included; the first delivery after healing shows how much of it that is).`,
    KNOBS,
  );
}
