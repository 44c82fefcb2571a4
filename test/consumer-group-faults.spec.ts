import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@tributary/local-postgres';
import { TestCluster, waitFor } from './support/pg-cluster';
import { TestPlatform } from './support/platform';
import { AppProcess, builtApp } from './support/processes';
import { sleep } from '@tributary/timing';

const TOPIC = 'orders';
const PARTITIONS = 6;
const KEYS = 200;
const TOTAL = 30_000;
const GROUP = 'kill-g';

interface Delivery {
  worker: number;
  partition: number;
  offset: number;
  key: string;
  seq: number;
}

/** A worker process whose log sink lines (one JSON object per delivered message) are all kept. */
class Worker {
  readonly deliveries: Delivery[] = [];
  readonly process: AppProcess;
  private rest = '';

  constructor(
    readonly index: number,
    env: NodeJS.ProcessEnv,
    /** Where this worker-only process serves /metrics (TRIBUTARY_METRICS_PORT). */
    readonly metricsPort: number,
  ) {
    this.process = new AppProcess(builtApp('worker'), env);
    // Pipes to a child are written synchronously on Linux: a line seen here was handed to the sink.
    this.process.child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (this.rest + chunk.toString()).split('\n');
      this.rest = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{"group"')) continue;
        const m = JSON.parse(line) as { partition: number; offset: number; key: string; envelope: { after: { seq: number } } };
        this.deliveries.push({ worker: index, partition: m.partition, offset: m.offset, key: m.key, seq: m.envelope.after.seq });
      }
    });
  }

  get pid(): number {
    return this.process.child.pid ?? -1;
  }
}

describe('a consumer group survives kill -9 of its members', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let dir: string;
  const workers: Worker[] = [];

  beforeAll(async () => {
    cluster = await TestCluster.start(15);
    platform = await TestPlatform.create(cluster, 'platform');
    await platform.createTopic(TOPIC, PARTITIONS);
    dir = mkdtempSync(join(tmpdir(), 'tributary-group-kill-'));
    writeFileSync(
      join(dir, 'tributary.yaml'),
      [
        'retentionCheckIntervalMs: 3600000',
        'groups:',
        `  - name: ${GROUP}`,
        `    topics: [${TOPIC}]`,
        '    startFrom: earliest',
        '    sessionTimeoutMs: 3000',
        '    batchSize: 200',
        '    sink: { type: log }',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.process.kill('SIGKILL')));
    await platform?.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startWorker(): Promise<Worker> {
    const metricsPort = await freePort();
    const w = new Worker(
      workers.length,
      {
        TRIBUTARY_DATABASE_URL: platform.url,
        TRIBUTARY_CONFIG: join(dir, 'tributary.yaml'),
        TRIBUTARY_LOG_LEVEL: 'warn',
        TRIBUTARY_METRICS_PORT: String(metricsPort),
      },
      metricsPort,
    );
    workers.push(w);
    return w;
  }

  const leases = () =>
    platform.pool
      .query<{ partition: number; member_id: string | null }>(
        `SELECT partition, member_id FROM tributary.partition_leases WHERE group_name = $1 ORDER BY partition`,
        [GROUP],
      )
      .then((r) => r.rows);
  const committed = async () => {
    const { rows } = await platform.pool.query<{ partition: number; next_offset: string }>(
      `SELECT partition, next_offset FROM tributary.group_offsets WHERE group_name = $1`,
      [GROUP],
    );
    return new Map(rows.map((r) => [r.partition, Number(r.next_offset)]));
  };
  const ownedBy = async (w: Worker) =>
    (await leases()).filter((l) => l.member_id?.includes(`-${w.pid}-`)).map((l) => l.partition);

  it('moves the partitions of a killed member, loses nothing, and redelivers only uncommitted offsets', async () => {
    const live = [await startWorker(), await startWorker(), await startWorker()];
    await waitFor(
      async () => (await Promise.all(live.map(ownedBy))).every((owned) => owned.length === PARTITIONS / 3),
      'three members to share the six partitions evenly',
      60_000,
    );

    let produced = 0;
    const producing = (async () => {
      while (produced < TOTAL) {
        const n = Math.min(300, TOTAL - produced);
        await platform.produce(TOPIC, PARTITIONS, n, KEYS, produced);
        produced += n;
        await sleep(15);
      }
    })();

    const kills: { worker: number; partitions: number[]; committed: Map<number, number> }[] = [];
    for (const at of [0.25, 0.6]) {
      await waitFor(() => produced >= TOTAL * at, `the producer to pass ${at * 100}%`, 120_000);
      const victim = live.splice(Math.floor(Math.random() * live.length), 1)[0];
      const partitions = await ownedBy(victim);
      await victim.process.kill('SIGKILL');
      // A dead process commits nothing more, and no one else may commit these partitions before the
      // session timeout: what is committed now is exactly what the victim had committed.
      kills.push({ worker: victim.index, partitions, committed: await committed() });
      await waitFor(
        async () => (await leases()).every((l) => l.member_id && live.some((w) => l.member_id?.includes(`-${w.pid}-`))),
        'the survivors to take over every partition',
        60_000,
      );
      live.push(await startWorker()); // a replacement joins: another rebalance under load
    }
    await producing;

    const ends = await platform.pool.query<{ partition: number; next_offset: string }>(
      `SELECT partition, next_offset FROM tributary.topic_partitions WHERE topic = $1`,
      [TOPIC],
    );
    const end = new Map(ends.rows.map((r) => [r.partition, Number(r.next_offset)]));
    await waitFor(
      async () => {
        const c = await committed();
        return [...end].every(([p, e]) => c.get(p) === e);
      },
      'the group to commit the end of every partition',
      120_000,
    );

    const all = workers.flatMap((w) => w.deliveries);
    const seen = new Map<string, number>();
    for (const d of all) seen.set(`${d.partition}:${d.offset}`, (seen.get(`${d.partition}:${d.offset}`) ?? 0) + 1);

    // Nothing lost: every offset of every partition was handed to the sink.
    let missing = 0;
    for (const [p, e] of end) for (let o = 0; o < e; o++) if (!seen.has(`${p}:${o}`)) missing++;
    expect(missing).toBe(0);
    expect([...end.values()].reduce((a, b) => a + b, 0)).toBe(TOTAL);

    // Redelivered only when uncommitted at a kill of the partition's owner.
    const illegal = [...seen]
      .filter(([, n]) => n > 1)
      .map(([k]) => k.split(':').map(Number))
      .filter(([p, o]) => !kills.some((k) => k.partitions.includes(p) && o >= (k.committed.get(p) ?? 0)));
    expect(illegal).toEqual([]);

    // Each process saw each key's changes in order.
    const outOfOrder: Delivery[] = [];
    for (const w of workers) {
      const last = new Map<string, number>();
      for (const d of w.deliveries) {
        if (d.seq <= (last.get(d.key) ?? -1)) outOfOrder.push(d);
        last.set(d.key, d.seq);
      }
    }
    expect(outOfOrder).toEqual([]);

    // A worker-only process serves its own metrics: its deliveries, and the group's lag from the database.
    const survivor = live[0];
    const text = await (await fetch(`http://127.0.0.1:${survivor.metricsPort}/metrics`)).text();
    const delivered = Number(/^tributary_delivered_messages_total\{group="kill-g"\} (\d+)$/m.exec(text)?.[1]);
    expect(delivered).toBeGreaterThanOrEqual(survivor.deliveries.length);
    expect(text).toMatch(/^tributary_group_lag_messages\{group="kill-g",topic="orders",partition="0"\} 0$/m);
    expect(text).toMatch(/^tributary_delivery_latency_seconds_count\{group="kill-g"\} \d+$/m);
    process.stdout.write(
      `group kill test: ${TOTAL} messages, ${kills.length} kills, ${all.length - TOTAL} redeliveries, ` +
        `${workers.length} worker processes\n`,
    );
  });
});
