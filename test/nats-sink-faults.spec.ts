import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { GroupRepository } from '@tributary/consumer-groups';
import { NATS_HEADERS } from '@tributary/nats-sink';
import { CaptureHarness, platformConfig, sourceConfig } from './support/capture-harness';
import { freePort, natsAdmin, NatsNode, NatsTestCluster, streamMessages } from './support/nats';
import { TestCluster, waitFor } from './support/pg-cluster';
import { AppProcess, builtApp } from './support/processes';
import { sinksCaughtUp } from './support/sink-groups';

const CHANGES = 50_000;
const PARTITIONS = 4;
const TOPIC = 'src.public.accounts';

/**
 * Exactly once on a clustered JetStream under faults: a 3-node cluster on loopback with a stream of 3
 * replicas takes a 50,000-change workload while one node is killed and brought back and the worker is
 * killed with SIGKILL, twice. Beside it a group whose broker is down when it starts and comes up later.
 * Afterwards every partition's subject holds every offset exactly once, in order.
 */
describe('nats sink under faults', () => {
  let pg: TestCluster;
  let nats: NatsTestCluster;
  let late: NatsNode;
  let harness: CaptureHarness;
  let source: Client;
  let repo: GroupRepository;
  let dir: string;
  let platformUrl: string;
  let worker: AppProcess | undefined;
  const outputs: string[] = [];
  const run = `F${process.pid}`;

  beforeAll(async () => {
    pg = await TestCluster.start(15);
    await pg.createDatabase('src');
    platformUrl = await pg.createDatabase('platform');
    await pg.query('src', 'CREATE TABLE accounts (id int PRIMARY KEY, note text)');
    nats = await NatsTestCluster.start(3, `tributary-${run}`);
    const latePort = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'tributary-nats-faults-'));
    writeFileSync(
      join(dir, 'late.conf'),
      [`listen: 127.0.0.1:${latePort}`, `jetstream { store_dir: "${join(dir, 'late')}" }`].join('\n'),
    );
    late = new NatsNode('late', latePort, join(dir, 'late.conf'));

    harness = await CaptureHarness.start(
      platformConfig(platformUrl, [sourceConfig('src', pg.url('src'), ['public.accounts'])], PARTITIONS),
    );
    repo = new GroupRepository(harness.db.pool);
    source = new Client({ connectionString: pg.url('src') });
    await source.connect();
    const group = (name: string, url: string, stream: string, replicas: number) => [
      `  - name: ${name}`,
      `    topics: [${TOPIC}]`,
      `    sessionTimeoutMs: 2000`,
      `    batchSize: 200`,
      `    retry: { maxAttempts: 3, initialBackoffMs: 50, maxBackoffMs: 1000 }`,
      `    sink: { type: nats, url: "${url}", stream: ${stream}, replicas: ${replicas}, duplicateWindowMs: 1000 }`,
    ];
    writeFileSync(
      join(dir, 'tributary.yaml'),
      [
        'retentionCheckIntervalMs: 3600000',
        'groups:',
        ...group('to-cluster', nats.nodes[0].url, `${run}_C`, 3),
        ...group('to-late', late.url, `${run}_L`, 1),
      ].join('\n'),
    );
  }, 240_000);

  afterAll(async () => {
    await worker?.kill('SIGKILL');
    await source?.end().catch(() => undefined);
    await harness?.stop();
    await late?.kill();
    await nats?.stop();
    await pg?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function startWorker(): AppProcess {
    const w = new AppProcess(builtApp('worker'), {
      TRIBUTARY_DATABASE_URL: platformUrl,
      TRIBUTARY_CONFIG: join(dir, 'tributary.yaml'),
      TRIBUTARY_LOG_LEVEL: 'warn',
    });
    worker = w;
    void w.exited.then(() => outputs.push(w.output));
    return w;
  }

  async function workload(): Promise<void> {
    for (let id = 0; id < CHANGES;) {
      const size = 1 + Math.floor(Math.random() * 200);
      const to = Math.min(CHANGES, id + size);
      await source.query(`INSERT INTO accounts SELECT g, 'note ' || g FROM generate_series($1::int, $2::int) g`, [id, to - 1]);
      id = to;
    }
  }

  /** Offsets on each partition's subject, in stream order. */
  async function subjectOffsets(url: string, stream: string): Promise<Map<number, number[]>> {
    const admin = await natsAdmin(url);
    try {
      const out = new Map<number, number[]>();
      for (const m of await streamMessages(admin.jsm, stream)) {
        const partition = Number(m.subject.slice(m.subject.lastIndexOf('.') + 1));
        expect(m.header?.get(NATS_HEADERS.partition)).toBe(String(partition));
        out.set(partition, [...(out.get(partition) ?? []), Number(m.header?.get(NATS_HEADERS.offset))]);
      }
      return out;
    } finally {
      await admin.close();
    }
  }

  it('delivers 50,000 changes exactly once through a node kill and worker kills; a late broker loses nothing', async () => {
    startWorker();
    // The late group's broker is down: its partitions show why, and nothing is dead-lettered.
    const blocked = await waitFor(
      async () => {
        await source.query(`INSERT INTO accounts VALUES (-1, 'probe') ON CONFLICT DO NOTHING`);
        const lag = await repo.lag('to-late');
        return lag.find((p) => p.status === 'blocked' && /NATS unreachable/.test(p.statusDetail ?? ''));
      },
      'the late group to show its broker as unreachable',
      120_000,
    );
    expect(blocked.statusDetail).toMatch(/connecting to nats:\/\/127\.0\.0\.1:\d+/);
    await pg.query('src', 'DELETE FROM accounts WHERE id = -1'); // the probe's insert and delete are 2 more changes

    const running = workload();
    const victim = nats.nodes[1];
    const events: string[] = [];
    // The faults are spread over the run: each comes once 6,000 more changes have reached the stream
    // since the one before (five of them within the 50,000), so messages flow over every one of them.
    for (const step of ['kill-worker', 'kill-node', 'kill-worker', 'restart-node', 'start-late']) {
      const before = await delivered('to-cluster');
      const at = await waitFor(
        async () => {
          const now = await delivered('to-cluster');
          return now >= before + 6_000 && now;
        },
        `6,000 more changes delivered before ${step}`,
        300_000,
      );
      if (step === 'kill-worker') {
        await worker?.kill('SIGKILL');
        startWorker();
      } else if (step === 'kill-node') await victim.kill();
      else if (step === 'restart-node') await victim.start();
      else await late.start();
      events.push(`${step} at ${at} delivered`);
    }
    await running;

    await sinksCaughtUp(pg, 'src', 'tributary_src', repo, ['to-cluster', 'to-late'], 400_000).catch(async (error: Error) => {
      const lags = await Promise.all(['to-cluster', 'to-late'].map((g) => repo.lag(g)));
      throw new Error(
        `${error.message}\n${JSON.stringify(lags)}\n${events.join('\n')}\n--- worker ---\n${outputs.join('\n---\n')}\n${worker?.output}`,
      );
    });
    const dead = await harness.db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM tributary.dead_letters');
    expect(dead.rows[0].n).toBe('0');
    await expectExactlyOnceWithProbe(nats.nodes[0].url, `${run}_C`, 'to-cluster');
    await expectExactlyOnceWithProbe(late.url, `${run}_L`, 'to-late');
    process.stdout.write(`nats fault test: ${CHANGES} changes; ${events.join('; ')}\n`);
  }, 900_000);

  /** The probe row's insert and delete are two changes more than the workload's. */
  async function expectExactlyOnceWithProbe(url: string, stream: string, group: string): Promise<void> {
    const lag = await repo.lag(group);
    expect(lag.reduce((n, p) => n + Number(p.end), 0)).toBe(CHANGES + 2);
    await expectExactlyOnceOf(url, stream, lag);
  }

  async function expectExactlyOnceOf(
    url: string,
    stream: string,
    lag: Awaited<ReturnType<GroupRepository['lag']>>,
  ): Promise<void> {
    const offsets = await subjectOffsets(url, stream);
    for (const p of lag) {
      expect({ partition: p.partition, offsets: offsets.get(p.partition) ?? [] }).toEqual({
        partition: p.partition,
        offsets: Array.from({ length: Number(p.end) }, (_, i) => i),
      });
    }
  }

  async function delivered(group: string): Promise<number> {
    return (await repo.lag(group)).reduce((n, p) => n + Number(p.committed), 0);
  }
});
