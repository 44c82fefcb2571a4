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
const GROUP = 'rk-g';
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

  const streams = () => Array.from({ length: PARTITIONS }, (_, p) => `${PREFIX}:${TOPIC}:${p}`);
  const written = async () => (await Promise.all(streams().map((s) => redis.xlen(s)))).reduce((a, b) => a + b, 0);

  const committed = async () => {
    const { rows } = await bed.platform.pool.query<{ n: string }>(
      `SELECT COALESCE(SUM(next_offset), 0) AS n FROM tributary.group_offsets WHERE group_name = $1`,
      [GROUP],
    );
    return Number(rows[0].n);
  };

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
          `  - name: ${GROUP}`,
          `    topics: [${TOPIC}]`,
          '    startFrom: earliest',
          '    sessionTimeoutMs: 3000',
          '    batchSize: 500',
          '    members: 3',
          `    sink: { type: redis, url: "${REDIS_URL}", streamKey: "${PREFIX}:{topic}:{partition}" }`,
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
        const atKills: { written: number; committed: number }[] = [];
        for (const at of [0.25, 0.6]) {
          await waitFor(async () => (await written()) >= TOTAL * at, `${at * 100} % of the messages in Redis`, 300_000);
          await workers[workers.length - 1].kill('SIGKILL');
          atKills.push({ written: await written(), committed: await committed() });
          startWorker();
        }
        await producing;
        await waitFor(async () => (await written()) === TOTAL, 'all 50,000 messages in Redis', 300_000);
        await waitFor(
          async () => (await bed.repo.lag(GROUP)).every((l) => l.lag === '0' && l.status === 'ok'),
          'the group to commit everything',
          120_000,
        );

        const seen = new Set<string>();
        const seqByKey = new Map<string, number[]>();
        for (const stream of streams()) {
          const raw = (await redis.xrange(stream, '-', '+')) as [string, string[]][];
          // Ids 1-0 … n-0: every offset of the partition once, none missing, none twice.
          expect(raw.map(([id]) => id)).toEqual(Array.from({ length: raw.length }, (_, i) => `${i + 1}-0`));
          for (const [, flat] of raw) {
            const body = JSON.parse(flat[flat.indexOf('body') + 1]) as { id: string; after: { k: number; seq: number } };
            seen.add(body.id);
            seqByKey.set(String(body.after.k), [...(seqByKey.get(String(body.after.k)) ?? []), body.after.seq]);
          }
        }
        expect(seen.size).toBe(TOTAL);
        for (const seqs of seqByKey.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        // Killed mid-way: Redis held messages whose offsets were not committed, which the next worker must not write again.
        expect(atKills.some((k) => k.written > k.committed)).toBe(true);
        const skipped = (await bed.repo.events(GROUP)).filter((e) => e.kind === 'redis_replay_skipped');
        process.stderr.write(
          `redis kill -9: at the kills ${JSON.stringify(atKills)}; ${skipped.length} replayed run(s) refused as already written: ${skipped.map((e) => e.detail.split(' ')[0]).join(', ')}\n`,
        );
      } catch (error) {
        for (const w of workers) process.stderr.write(w.output.slice(-5_000));
        throw error;
      }
    },
  );
});
