import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { sleep } from '@tributary/timing';
import { GroupPlatform } from './support/group-platform';
import { waitFor } from './support/pg-cluster';
import { AppProcess, builtApp } from './support/processes';
import { serviceExpected } from './support/redis-server';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `tributary-test:${process.pid}-${Date.now().toString(36)}-kill`;
const TOPIC = 'rk.orders';
const PARTITIONS = 6;
const TOTAL = 50_000;
/**
 * Two groups on the same worker: the first's stream key names only topic and partition, so a new owner
 * resumes after the stream's newest entry (storedPosition); the second's names {table} too, so it
 * resumes from the committed offset and the append script must skip every message written before.
 */
const GROUPS = [
  { name: 'rk-g', streamKey: `${PREFIX}:{topic}:{partition}`, stream: (p: number) => `${PREFIX}:${TOPIC}:${p}` },
  {
    name: 'rk-r',
    streamKey: `${PREFIX}:replay:{table}{topic}:{partition}`,
    stream: (p: number) => `${PREFIX}:replay:${TOPIC}:${p}`,
  },
];
const itRedis = serviceExpected('127.0.0.1', 6379, 'Redis') ? it : it.skip;

describe('redis sink: kill -9 of the worker mid-batch', () => {
  const bed = GroupPlatform.inTests();
  let redis: Redis;
  let dir: string;
  const workers: AppProcess[] = [];

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    dir = mkdtempSync(join(tmpdir(), 'tributary-redis-kill-'));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    const keys = await redis.keys(`${PREFIX}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  const streams = (g: (typeof GROUPS)[number]) => Array.from({ length: PARTITIONS }, (_, p) => g.stream(p));
  const written = async (g = GROUPS[0]) => (await Promise.all(streams(g).map((s) => redis.xlen(s)))).reduce((a, b) => a + b, 0);

  const committed = async (g = GROUPS[0]) => {
    const { rows } = await bed.platform.pool.query<{ n: string }>(
      `SELECT COALESCE(SUM(next_offset), 0) AS n FROM tributary.group_offsets WHERE group_name = $1`,
      [g.name],
    );
    return Number(rows[0].n);
  };

  /** Ids 1-0 … n-0 in every partition stream (every offset once, none missing, none twice), each envelope once, keys in order. */
  async function expectEveryOffsetOnce(g: (typeof GROUPS)[number]): Promise<void> {
    const seen = new Set<string>();
    const seqByKey = new Map<string, number[]>();
    for (const stream of streams(g)) {
      const raw = (await redis.xrange(stream, '-', '+')) as [string, string[]][];
      expect(raw.map(([id]) => id)).toEqual(Array.from({ length: raw.length }, (_, i) => `${i + 1}-0`));
      for (const [, flat] of raw) {
        const body = JSON.parse(flat[flat.indexOf('body') + 1]) as { id: string; after: { k: number; seq: number } };
        seen.add(body.id);
        seqByKey.set(String(body.after.k), [...(seqByKey.get(String(body.after.k)) ?? []), body.after.seq]);
      }
    }
    expect(seen.size).toBe(TOTAL);
    for (const seqs of seqByKey.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  }

  function startWorker(): AppProcess {
    const worker = new AppProcess(builtApp('worker'), {
      TRIBUTARY_DATABASE_URL: bed.platform.url,
      TRIBUTARY_CONFIG: join(dir, 'tributary.yaml'),
      TRIBUTARY_LOG_LEVEL: 'warn',
    });
    workers.push(worker);
    return worker;
  }

  itRedis(
    '50,000 changes, the worker killed twice: every partition stream holds every offset exactly once, in order',
    async () => {
      await bed.platform.createTopic(TOPIC, PARTITIONS);
      writeFileSync(
        join(dir, 'tributary.yaml'),
        [
          'retentionCheckIntervalMs: 3600000',
          'groups:',
          ...GROUPS.flatMap((g) => [
            `  - name: ${g.name}`,
            `    topics: [${TOPIC}]`,
            '    startFrom: earliest',
            '    sessionTimeoutMs: 3000',
            '    batchSize: 500',
            '    members: 3',
            `    sink: { type: redis, url: "${REDIS_URL}", streamKey: "${g.streamKey}" }`,
          ]),
        ].join('\n'),
      );
      startWorker();
      try {
        let produced = 0;
        const producing = (async () => {
          while (produced < TOTAL) {
            await bed.platform.produce(TOPIC, PARTITIONS, 1_000, 300, produced);
            produced += 1_000;
            await sleep(20);
          }
        })();
        const atKills: { group: string; written: number; committed: number }[] = [];
        for (const at of [0.25, 0.6]) {
          await waitFor(async () => (await written()) >= TOTAL * at, `${at * 100} % of the messages in Redis`, 300_000);
          await workers[workers.length - 1].kill('SIGKILL');
          for (const g of GROUPS) atKills.push({ group: g.name, written: await written(g), committed: await committed(g) });
          startWorker();
        }
        await producing;
        for (const g of GROUPS) {
          await waitFor(async () => (await written(g)) === TOTAL, `all 50,000 messages in ${g.name}'s streams`, 300_000);
          await waitFor(
            async () => (await bed.repo.lag(g.name)).every((l) => l.lag === '0' && l.status === 'ok'),
            `${g.name} to commit everything`,
            120_000,
          );
          await expectEveryOffsetOnce(g);
          // Killed mid-way: Redis held messages whose offsets were not committed, which the next worker must not write again.
          expect(atKills.some((k) => k.group === g.name && k.written > k.committed)).toBe(true);
        }
        // The second group resumed from its committed offsets: the script refused what was written before.
        const skipped = (await bed.repo.events(GROUPS[1].name)).filter((e) => e.kind === 'redis_replay_skipped');
        expect(skipped.length).toBeGreaterThan(0);
        process.stderr.write(
          `redis kill -9: at the kills ${JSON.stringify(atKills)}; ${GROUPS[1].name} skipped ${skipped.map((e) => e.detail.split(' ')[0]).join(', ')} message(s) as already written\n`,
        );
      } catch (error) {
        for (const w of workers) process.stderr.write(w.output.slice(-5_000));
        throw error;
      }
    },
  );
});
