import { connect, type ChannelModel } from 'amqplib';
import { redactGroupSpec } from '@tributary/catalog';
import { groupSchema, rabbitmqSinkSchema, restoreWriteOnlySecrets, type RabbitmqSinkConfig } from '@tributary/config';
import { freePort } from '@tributary/local-postgres';
import { RabbitmqSink, RabbitmqUnavailableError } from '@tributary/rabbitmq-sink';
import type { SinkEvent } from '@tributary/sink-contract';
import { GroupPlatform } from './support/group-platform';
import { waitFor } from './support/pg-cluster';
import { RabbitQueue } from './support/rabbit-queue';
import { serviceExpected } from './support/redis-server';
import { sinkGroup, SinkGroups } from './support/sink-groups';
import { TcpProxy } from './support/tcp-proxy';

const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const RUN = `${process.pid}-${Date.now().toString(36)}`;
const itRabbit = serviceExpected('127.0.0.1', 5672, 'RabbitMQ') ? it : it.skip;

function rabbitConfig(url: string, exchange: string, extra: Partial<RabbitmqSinkConfig> = {}): RabbitmqSinkConfig {
  return rabbitmqSinkSchema.parse({ type: 'rabbitmq', url, exchange, routingKey: '{topic}.{partition}.{op}', ...extra });
}

describe('rabbitmq sink', () => {
  const bed = GroupPlatform.inTests();
  let admin: ChannelModel;
  let groups: SinkGroups;
  const exchanges: string[] = [];
  const queues: RabbitQueue[] = [];
  const events: SinkEvent[] = [];
  const report = (e: SinkEvent) => Promise.resolve(void events.push(e));
  const exchange = (name: string) => {
    exchanges.push(`tributary-test-${RUN}-${name}`);
    return exchanges[exchanges.length - 1];
  };
  const queue = async (ex: string) => {
    const q = await RabbitQueue.bind(AMQP_URL, ex);
    queues.push(q);
    return q;
  };

  beforeAll(async () => {
    if (serviceExpected('127.0.0.1', 5672, 'RabbitMQ')) admin = await connect(AMQP_URL);
  });
  beforeEach(() => {
    groups = new SinkGroups(bed.repo, bed.notifier);
    events.length = 0;
  });
  afterEach(() => groups.stop());
  afterAll(async () => {
    for (const q of queues) await q.close();
    if (!admin) return;
    const ch = await admin.createChannel();
    for (const ex of exchanges) await ch.deleteExchange(ex).catch(() => undefined);
    await admin.close();
  });

  itRabbit('publishes every message persistent, confirmed, with message-id = envelope id, in order per key', async () => {
    const ex = exchange('basic');
    await bed.platform.createTopic('q.basic', 3);
    await bed.platform.produce('q.basic', 3, 2_000, 40);
    const config = rabbitConfig(AMQP_URL, ex);
    const q = await queue(ex); // declares the exchange the sink then finds (declare: true is idempotent)
    await groups.start(
      sinkGroup('q-basic', ['q.basic'], { sink: config }),
      new RabbitmqSink({ group: 'q-basic', config, report }),
    );
    await waitFor(() => q.received.length >= 2_000, 'all 2,000 messages', 120_000);
    await waitFor(async () => (await bed.repo.lag('q-basic')).every((l) => l.lag === '0'), 'the group to commit everything');

    const stored = new Map<string, string>();
    for (const p of [0, 1, 2])
      for (const m of await bed.repo.fetch('q.basic', p, 0n, 5_000)) stored.set(`${p}:${m.offset}`, m.envelope);
    const seqByKey = new Map<number, number[]>();
    for (const r of q.received) {
      const body = JSON.parse(r.body) as { id: string; op: string; after: { k: number; seq: number } };
      expect(r.messageId).toBe(body.id);
      expect(r.persistent).toBe(true);
      const partition = String(r.headers['tributary-partition']);
      expect(r.routingKey).toBe(`q.basic.${partition}.c`);
      expect(r.body).toBe(stored.get(`${partition}:${String(r.headers['tributary-offset'])}`));
      seqByKey.set(body.after.k, [...(seqByKey.get(body.after.k) ?? []), body.after.seq]);
    }
    expect(new Set(q.received.map((r) => r.messageId)).size).toBe(2_000);
    for (const seqs of seqByKey.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  itRabbit('routing key template {source}.{schema}.{table}.{op} from the envelope; a route replaces it', async () => {
    const ex = exchange('route');
    const q = await queue(ex);
    const sink = new RabbitmqSink({
      group: 'q-route',
      config: rabbitConfig(AMQP_URL, ex, { routingKey: '{source}.{schema}.{table}.{op}' }),
      report,
    });
    const envelope = '{"id":"src:0/1:0","op":"u","key":{"id":1},"source":{"name":"src","schema":"public","table":"orders"}}';
    const base = { topic: 't', partition: 0, key: '{"id":1}', envelope, appendedAt: new Date() };
    try {
      await sink.deliver([
        { ...base, offset: 0n },
        { ...base, offset: 1n, route: 'custom.key' },
      ]);
      await waitFor(() => q.received.length === 2, 'both messages');
      expect(q.received.map((r) => [r.routingKey, r.messageId])).toEqual([
        ['src.public.orders.u', 'src:0/1:0'],
        ['custom.key', 'src:0/1:0'],
      ]);
    } finally {
      await sink.close();
    }
  });

  itRabbit('declare: false and a missing exchange, wrong credentials: clear errors that block, no password shown', async () => {
    await bed.platform.createTopic('q.errors', 1);
    await bed.platform.produce('q.errors', 1, 5, 5);
    const batch = await bed.repo.fetch('q.errors', 0, 0n, 5);
    const missing = `tributary-test-${RUN}-missing`;
    const checked = new RabbitmqSink({ group: 'q-errors', config: rabbitConfig(AMQP_URL, missing, { declare: false }), report });
    const notFound = (await checked.deliver(batch).catch((e: Error) => e)) as RabbitmqUnavailableError;
    await checked.close();
    expect(notFound).toBeInstanceOf(RabbitmqUnavailableError);
    expect(notFound.blockPartition).toBe(true);
    expect(notFound.message).toMatch(
      new RegExp(
        `^exchange "${missing}" does not exist at amqp://guest:\\*\\*\\*@127\\.0\\.0\\.1:5672 \\(declare: false: it is only checked\\): .*NOT_FOUND`,
      ),
    );

    const wrongUrl = 'amqp://guest:wrong-secret@127.0.0.1:5672';
    const wrong = new RabbitmqSink({ group: 'q-errors', config: rabbitConfig(wrongUrl, exchange('auth')), report });
    const refused = (await wrong.deliver(batch).catch((e: Error) => e)) as RabbitmqUnavailableError;
    await wrong.close();
    expect(refused).toBeInstanceOf(RabbitmqUnavailableError);
    expect(refused.message).toMatch(/^rabbitmq at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:5672 is unavailable: .*ACCESS.REFUSED/);
    expect(refused.message).not.toContain('wrong-secret');
    expect(events.map((e) => e.kind)).toEqual(['sink_unavailable', 'sink_unavailable']);

    // Write-only: masked when shown, kept when sent back masked for the same broker only.
    const group = groupSchema.parse({ name: 'q', topics: ['t'], sink: { type: 'rabbitmq', url: AMQP_URL, exchange: 'x' } });
    const shown = redactGroupSpec(group) as { sink: { url: string } };
    expect(shown.sink.url).toBe('amqp://guest:***@127.0.0.1:5672');
    expect(groupSchema.parse(restoreWriteOnlySecrets(shown, { group }, () => undefined)).sink).toEqual(group.sink);
    const moved = { ...shown, sink: { ...shown.sink, url: 'amqp://guest:***@10.0.0.9:5672' } };
    expect(() => restoreWriteOnlySecrets(moved, { group }, () => undefined)).toThrow(
      /keeps a stored credential only for the same/,
    );
  });

  itRabbit('broker unreachable at start and cut off mid-way: nothing lost, the partition says why meanwhile', async () => {
    const proxy = new TcpProxy(await freePort(), { host: '127.0.0.1', port: 5672 });
    const ex = exchange('down');
    const q = await queue(ex);
    await bed.platform.createTopic('q.down', 2);
    await bed.platform.produce('q.down', 2, 300, 30);
    const config = rabbitConfig(`amqp://guest:guest@127.0.0.1:${proxy.port}`, ex, { timeoutMs: 2_000 });
    const group = sinkGroup('q-down', ['q.down'], { sink: config });
    const recording = (e: SinkEvent) => bed.repo.recordEvent(group.name, e, e.kind, e.detail);
    await groups.start(group, new RabbitmqSink({ group: group.name, config, report: recording }));
    try {
      const lag = await waitFor(
        async () => {
          const l = await bed.repo.lag('q-down');
          return l.length === 2 && l.every((p) => p.status === 'blocked') && l;
        },
        'both partitions to show the outage',
        60_000,
      );
      for (const p of lag)
        expect(p.statusDetail).toMatch(/rabbitmq at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+ is unavailable: .*ECONNREFUSED/);
      await proxy.up();
      await waitFor(
        () => new Set(q.received.map((r) => r.messageId)).size === 300,
        'the first 300 once the broker is back',
        120_000,
      );
      // Cut off again while more arrives, then back: still nothing lost.
      await proxy.down();
      await bed.platform.produce('q.down', 2, 300, 30, 300);
      await waitFor(
        async () => (await bed.repo.lag('q-down')).some((p) => p.status === 'blocked'),
        'the second outage to show',
        60_000,
      );
      await proxy.up();
      await waitFor(() => new Set(q.received.map((r) => r.messageId)).size === 600, 'all 600 messages', 120_000);
      await waitFor(
        async () => (await bed.repo.lag('q-down')).every((p) => p.status === 'ok' && p.lag === '0'),
        'status ok, lag 0',
      );
      const kinds = (await bed.repo.events('q-down')).map((e) => e.kind);
      expect(kinds.filter((k) => k === 'sink_recovered').length).toBeGreaterThanOrEqual(2);
      const dead = await bed.platform.pool.query(`SELECT 1 FROM tributary.dead_letters WHERE group_name = 'q-down'`);
      expect(dead.rowCount).toBe(0);
    } finally {
      await groups.stop();
      await proxy.down();
    }
  });

  it('refuses a non-AMQP URL and unknown routing key placeholders, naming the key', () => {
    const issues = (sink: Record<string, unknown>) => {
      const r = groupSchema.safeParse({
        name: 'g',
        topics: ['t'],
        sink: { type: 'rabbitmq', exchange: 'x', url: AMQP_URL, ...sink },
      });
      return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    };
    expect(issues({ url: 'redis://h' })).toEqual(['sink.url']);
    expect(issues({ routingKey: '{nope}' })).toEqual(['sink.routingKey']);
    expect(issues({ exchange: 'bad name' })).toEqual(['sink.exchange']);
    expect(issues({})).toEqual([]);
  });
});
