import { randomBytes } from 'node:crypto';
import type { GroupConfig } from '@tributary/config';
import { GroupMember, GroupRepository, MessageNotifier } from '@tributary/consumer-groups';
import { WebhookSink, webhookSinkSchema } from '@tributary/webhook-sink';
import { GroupRunner } from '@tributary/worker';
import { CaptureHarness, platformConfig, sourceConfig } from './support/capture-harness';
import { TestCluster, waitFor } from './support/pg-cluster';
import { WebhookReceiver } from './support/webhook-receiver';

/**
 * Captured changes delivered to webhooks in Debezium's form: the types from the schema registry, the
 * webhook-id still our envelope's id, batches as JSON arrays of Debezium values.
 */
describe('webhooks with envelope: debezium', () => {
  let cluster: TestCluster;
  let harness: CaptureHarness;
  let repo: GroupRepository;
  let notifier: MessageNotifier;
  const runners: GroupRunner[] = [];
  const sinks: WebhookSink[] = [];
  const receivers: WebhookReceiver[] = [];
  const sql = (text: string) => cluster.query('dbzsrc', text);

  beforeAll(async () => {
    cluster = await TestCluster.start(15);
    await cluster.createDatabase('dbzsrc');
    const platformUrl = await cluster.createDatabase('dbzplatform');
    await sql(`CREATE TABLE orders (id bigint PRIMARY KEY, price numeric(10,2), placed timestamp, tz timestamptz,
      day date, doc jsonb, tags text[], note text)`);
    harness = await CaptureHarness.start(
      platformConfig(platformUrl, [sourceConfig('shop', cluster.url('dbzsrc'), ['public.orders'])], 1),
    );
    repo = new GroupRepository(harness.db.pool);
    notifier = new MessageNotifier(platformUrl);
    await notifier.start();
  });

  afterAll(async () => {
    await Promise.all(runners.map((r) => r.stop()));
    await Promise.all(sinks.map((s) => s.close()));
    await Promise.all(receivers.map((r) => r.close()));
    await notifier?.close();
    await harness?.stop();
    await cluster?.stop();
  });

  async function subscribe(name: string, sink: Record<string, unknown>): Promise<WebhookReceiver> {
    const receiver = await WebhookReceiver.start();
    receivers.push(receiver);
    const config: GroupConfig = {
      name,
      topics: ['shop.public.orders'],
      startFrom: 'earliest',
      resetPolicy: 'earliest',
      sessionTimeoutMs: 3_000,
      batchSize: 100,
      members: 1,
      sink: webhookSinkSchema.parse({
        type: 'webhook',
        url: receiver.url,
        secrets: [`whsec_${randomBytes(24).toString('base64')}`],
        allowPrivateNetworks: true,
        ...sink,
      }),
      retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 50 },
      onFailure: 'dead_letter',
    };
    if (config.sink.type !== 'webhook') throw new Error('not a webhook group');
    await repo.upsertGroup(config);
    const member = new GroupMember(repo, config, 'test');
    await member.heartbeat(true);
    const webhook = new WebhookSink({ group: name, config: config.sink, pool: harness.db.pool });
    sinks.push(webhook);
    const runner = new GroupRunner(member, config, repo, webhook, notifier);
    runners.push(runner);
    runner.start();
    return receiver;
  }

  // JSON.parse rounds the id (beyond 2^53) as this does; its exact digits are checked in the body's text.
  const ID = Number('9007199254740993');

  it('sends create, update and delete as Debezium values, typed by the schema registry', async () => {
    const withSchema = await subscribe('dbz-schema', { envelope: 'debezium-with-schema' });
    const batched = await subscribe('dbz-batch', { envelope: 'debezium', batchSize: 3 });
    const plain = await subscribe('dbz-plain', {});
    await sql(`INSERT INTO orders VALUES (9007199254740993, 1234.56, '2018-06-20 15:13:16.945104', '2024-02-29 13:14:15.5+02',
      '2024-02-29', '{"n": 12345678901234567890}', '{a,b}', 'hello')`);
    await sql(`UPDATE orders SET price = -1.28 WHERE id = 9007199254740993`);
    await sql(`DELETE FROM orders WHERE id = 9007199254740993`);
    await waitFor(
      () => withSchema.received.length >= 3 && batched.received.length >= 1 && plain.received.length >= 3,
      'three deliveries each',
    );

    const ours = (await harness.messages('shop.public.orders')).map((m) => m.envelope);
    expect(ours.map((e) => e.op)).toEqual(['c', 'u', 'd']);
    // The webhook-id stays our envelope's id: a receiver deduplicating by it sees the same ids in either form.
    expect(withSchema.received.map((r) => r.headers['webhook-id'])).toEqual(ours.map((e) => e.id));
    expect(plain.received.map((r) => JSON.parse(r.body).id)).toEqual(ours.map((e) => e.id));

    const [create, update, remove] = withSchema.received.map((r) => JSON.parse(r.body) as { schema: Schema; payload: Payload });
    // bigint beyond 2^53: a JSON number with every digit
    expect(withSchema.received[0].body).toContain('"after":{"id":9007199254740993,');
    expect(create.payload.after).toEqual({
      id: ID,
      price: Buffer.from([0x01, 0xe2, 0x40]).toString('base64'), // 123456 at scale 2
      placed: 1529507596945104,
      tz: '2024-02-29T11:14:15.5Z',
      day: 19782,
      doc: '{"n": 12345678901234567890}',
      tags: ['a', 'b'],
      note: 'hello',
    });
    expect(create.payload.op).toBe('c');
    expect(create.payload.source).toMatchObject({
      connector: 'postgresql',
      name: 'shop',
      db: 'dbzsrc',
      schema: 'public',
      table: 'orders',
      snapshot: 'false',
      txId: ours[0].source.txId,
      ts_ms: ours[0].source.ts_ms,
      xmin: null,
    });
    const lsn = (text: string) => {
      const [hi, lo] = text.split('/');
      return Number((BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`));
    };
    expect(create.payload.source.lsn).toBe(lsn(ours[0].source.lsn));
    const fields = create.schema.fields[1].fields.map((f) => [f.field, f.type, f.name ?? null]);
    expect(fields).toEqual([
      ['id', 'int64', null],
      ['price', 'bytes', 'org.apache.kafka.connect.data.Decimal'],
      ['placed', 'int64', 'io.debezium.time.MicroTimestamp'],
      ['tz', 'string', 'io.debezium.time.ZonedTimestamp'],
      ['day', 'int32', 'io.debezium.time.Date'],
      ['doc', 'string', 'io.debezium.data.Json'],
      ['tags', 'array', null],
      ['note', 'string', null],
    ]);
    expect(create.schema.name).toBe('shop.public.orders.Envelope');

    expect(update.payload.op).toBe('u');
    expect(update.payload.before).toBeNull(); // REPLICA IDENTITY DEFAULT, key unchanged
    expect(update.payload.after?.price).toBe(Buffer.from([0x80]).toString('base64')); // -128
    expect(remove.payload.op).toBe('d');
    expect(remove.payload.after).toBeNull();
    expect(remove.payload.before).toMatchObject({ id: ID, price: null, note: null });

    const batch = JSON.parse(batched.received[0].body) as Payload[];
    expect(batch.map((p) => p.op)).toEqual(['c', 'u', 'd']);
    expect(batch[0].after).toEqual(create.payload.after);
    expect(batch[2].before).toEqual({ id: ID }); // schemaless: only what the old row had
    expect(batched.received[0].headers['webhook-id']).toBe(`${ours[0].id}..${ours[2].id}`);
  });
});

interface Payload {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  source: Record<string, unknown>;
  op: string;
}

interface Schema {
  name: string;
  fields: Array<{ field: string; fields: Array<{ field: string; type: string; name?: string }> }>;
}
