import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'amqplib';
import { sleep } from '@tributary/timing';
import { GroupPlatform } from './support/group-platform';
import { waitFor } from './support/pg-cluster';
import { AppProcess, builtApp } from './support/processes';
import { RabbitQueue } from './support/rabbit-queue';
import { serviceExpected } from './support/redis-server';

const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const EXCHANGE = `tributary-test-${process.pid}-${Date.now().toString(36)}-kill`;
const TOPIC = 'qk.orders';
const PARTITIONS = 6;
const TOTAL = 50_000;
const GROUP = 'qk-g';
const itRabbit = serviceExpected('127.0.0.1', 5672, 'RabbitMQ') ? it : it.skip;

describe('rabbitmq sink: kill -9 of the worker mid-batch', () => {
  const bed = GroupPlatform.inTests();
  let dir: string;
  let queue: RabbitQueue | undefined;
  const workers: AppProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-rabbit-kill-'));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    await queue?.close();
    if (queue) {
      const admin = await connect(AMQP_URL);
      await (await admin.createChannel()).deleteExchange(EXCHANGE).catch(() => undefined);
      await admin.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

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

  itRabbit(
    '50,000 changes, the worker killed twice: every message at least once, duplicates only under the same message-id',
    async () => {
      await bed.platform.createTopic(TOPIC, PARTITIONS);
      const q = (queue = await RabbitQueue.bind(AMQP_URL, EXCHANGE));
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
          `    sink: { type: rabbitmq, url: "${AMQP_URL}", exchange: "${EXCHANGE}", routingKey: "{topic}.{partition}" }`,
        ].join('\n'),
      );
      startWorker();
      const distinct = () => new Set(q.received.map((r) => r.messageId)).size;
      try {
        let produced = 0;
        const producing = (async () => {
          while (produced < TOTAL) {
            await bed.platform.produce(TOPIC, PARTITIONS, 1_000, 300, produced);
            produced += 1_000;
            await sleep(20);
          }
        })();
        const atKills: { received: number; committed: number }[] = [];
        for (const at of [0.25, 0.6]) {
          await waitFor(() => distinct() >= TOTAL * at, `${at * 100} % of the messages`, 300_000);
          await workers[workers.length - 1].kill('SIGKILL');
          atKills.push({ received: q.received.length, committed: await committed() });
          startWorker();
        }
        await producing;
        await waitFor(() => distinct() === TOTAL, 'every message at least once', 300_000);
        await waitFor(
          async () => (await bed.repo.lag(GROUP)).every((l) => l.lag === '0' && l.status === 'ok'),
          'the group to commit everything',
          120_000,
        );

        // A duplicate is the same message again: same message-id, same body, same offset.
        const byId = new Map<string, Set<string>>();
        const firstSeqByKey = new Map<number, number[]>();
        for (const r of q.received) {
          const body = JSON.parse(r.body) as { id: string; after: { k: number; seq: number } };
          expect(r.messageId).toBe(body.id);
          const copies = byId.get(body.id) ?? new Set<string>();
          if (copies.size === 0) firstSeqByKey.set(body.after.k, [...(firstSeqByKey.get(body.after.k) ?? []), body.after.seq]);
          byId.set(body.id, copies.add(`${String(r.headers['tributary-offset'])}:${r.body}`));
        }
        expect(byId.size).toBe(TOTAL);
        for (const [id, copies] of byId) expect([id, copies.size]).toEqual([id, 1]);
        for (const seqs of firstSeqByKey.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        process.stderr.write(
          `rabbitmq kill -9: at the kills ${JSON.stringify(atKills)}; ${q.received.length - TOTAL} duplicate(s), each under its message-id\n`,
        );
      } catch (error) {
        for (const w of workers) process.stderr.write(w.output.slice(-5_000));
        throw error;
      }
    },
  );
});
