import { createHash } from 'node:crypto';
import { Client } from 'pg';
import type { GroupConfig, SourceConfig } from '@tributary/config';
import { GroupMember, GroupRepository, MessageNotifier } from '@tributary/consumer-groups';
import { DatabaseSink, PostgresDialect } from '@tributary/db-sink';
import { TableSchemaRepository } from '@tributary/schema-registry';
import { planBackfill, CopyRows, ToastFills, toastBatches } from '@tributary/snapshot';
import { RowBatchRenderer, type RowBatchFormat } from '@tributary/topic-log';
import { GroupRunner } from '@tributary/worker';
import { CaptureHarness, type Envelope, platformConfig, sourceConfig } from './support/capture-harness';
import { TestCluster, waitFor } from './support/pg-cluster';
import { type BackfillRow, backfillsSettled, captureCaughtUp, foldTopic } from './support/snapshot';

const ROWS = 40;
/** The advisory lock the chunk read waits on (through the backfill's condition), held by the test. */
const GATE = 4242;

/**
 * Updates that leave a large (TOASTed) column unchanged, committed while a chunk is read: their keys are
 * left to the stream, whose messages do not carry the column (unchanged_toast). The value must still
 * reach the topic and the target. The interleaving is forced: the chunk's condition calls gate(id), which
 * waits for an advisory lock the test holds, so the updates commit after the chunk's snapshot was taken
 * and before its high watermark.
 */
describe('snapshots: large (TOASTed) values at the seam', () => {
  let cluster: TestCluster;
  let harness: CaptureHarness;
  let notifier: MessageNotifier;
  let repo: GroupRepository;
  let runner: GroupRunner | undefined;
  let sink: DatabaseSink | undefined;
  let source: SourceConfig;
  const sql = (text: string, params: unknown[] = []) => cluster.query('src', text, params);

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    await cluster.createDatabase('src');
    await cluster.createDatabase('target');
    const platformUrl = await cluster.createDatabase('platform');
    await sql('CREATE TABLE docs (id int PRIMARY KEY, title text NOT NULL, ver int NOT NULL, body text)');
    // EXTERNAL: out of line and uncompressed, so Postgres leaves an unchanged body out of an update.
    await sql('ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL');
    // 3-9 kB of md5-chained text per row: incompressible, different in every row.
    await sql(`INSERT INTO docs SELECT g, 'doc ' || g, 0,
                 (SELECT string_agg(md5(g::text || ':' || i), '') FROM generate_series(1, 100 + (g * 37) % 180) i)
               FROM generate_series(1, ${ROWS}) g`);
    // Declared IMMUTABLE, which it is not, so that the backfill filter check (immutable functions only) lets
    // the test hold the chunk read; its argument keeps the planner from calling it early.
    await sql(`CREATE FUNCTION gate(bigint) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
                 BEGIN PERFORM pg_advisory_lock_shared(${GATE}); PERFORM pg_advisory_unlock_shared(${GATE}); RETURN true; END $$`);
    source = sourceConfig('src', cluster.url('src'), ['public.docs'], { snapshot: 'never' });
    harness = await CaptureHarness.start(platformConfig(platformUrl, [source], 4));
    notifier = new MessageNotifier(platformUrl);
    await notifier.start();
    repo = new GroupRepository(harness.db.pool);
    const group: GroupConfig = {
      name: 'to-pg',
      topics: ['src.public.*'],
      startFrom: 'earliest',
      resetPolicy: 'earliest',
      sessionTimeoutMs: 6_000,
      batchSize: 100,
      members: 1,
      sink: { type: 'log' },
      retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 200 },
      onFailure: 'block',
    };
    await repo.upsertGroup(group);
    sink = new DatabaseSink(
      () => PostgresDialect.connect(cluster.url('target'), 'public'),
      new TableSchemaRepository(harness.db.pool),
      { group: group.name, autoCreate: true, addColumns: true },
      'postgres',
    );
    runner = new GroupRunner(new GroupMember(repo, group, 'test'), group, repo, sink, notifier);
    runner.start();
  }, 300_000);

  afterAll(async () => {
    await runner?.stop();
    await sink?.close();
    await notifier?.close();
    await harness?.stop();
    await cluster?.stop();
  }, 120_000);

  it('keeps every large value of rows updated while their chunk is read, in the topic and the target', async () => {
    const locker = new Client({ connectionString: cluster.url('src') });
    const ids = (r: number) => Array.from({ length: ROWS }, (_, i) => i + 1).filter((id) => id % 4 === r);
    let done: BackfillRow | undefined;
    await locker.connect();
    try {
      await locker.query('SELECT pg_advisory_lock($1)', [GATE]);
      const backfill = await planBackfill(harness.db.pool, source, { table: 'public.docs', where: 'gate(id)', chunkSize: 1_000 });
      // The chunk's snapshot is taken; its read waits for the gate.
      await waitFor(
        async () =>
          (
            await sql(
              `SELECT 1 FROM pg_stat_activity WHERE application_name = 'tributary-snapshot:src' AND wait_event = 'advisory'`,
            )
          ).length > 0,
        'the chunk read to wait at the gate',
      );
      // Each its own transaction, committed inside the chunk's window, invisible to its snapshot:
      // id % 4 = 0: one update of other columns; = 1: two of them; = 2: a new body, then an update that
      // leaves it unchanged (the new body, not the chunk's, is right); = 3: untouched (its `r` row) but one,
      // deleted.
      for (const id of [...ids(0), ...ids(1)])
        await sql(`UPDATE docs SET title = title || '!', ver = ver + 1 WHERE id = $1`, [id]);
      for (const id of ids(1)) await sql(`UPDATE docs SET title = title || '?', ver = ver + 1 WHERE id = $1`, [id]);
      for (const id of ids(2)) {
        await sql(`UPDATE docs SET body = md5(body) || body, ver = ver + 1 WHERE id = $1`, [id]);
        await sql(`UPDATE docs SET title = title || '!', ver = ver + 1 WHERE id = $1`, [id]);
      }
      // A row deleted in the window: neither its row nor its body is emitted.
      await sql('DELETE FROM docs WHERE id = $1', [ids(3)[0]]);
      await locker.query('SELECT pg_advisory_unlock($1)', [GATE]);
      [done] = await backfillsSettled(harness.db.pool, [backfill.id]);
      expect(done.status).toBe('done');
    } finally {
      await locker.end();
    }
    await captureCaughtUp(cluster, 'src', 'tributary_src');
    await waitFor(async () => {
      const lag = await repo.lag('to-pg');
      return lag.length > 0 && lag.every((l) => l.lag === '0' && l.status === 'ok');
    }, 'the sink to catch up');

    const query = 'SELECT id, title, ver, length(body) AS length, md5(body) AS body FROM docs ORDER BY id';
    const expected = await sql(query);
    expect(expected.every((r) => Number(r.length) >= 3_000)).toBe(true);
    expect(await cluster.query('target', query)).toEqual(expected);
    const messages = await harness.messages('src.public.docs');
    // A filling message: the key and the body, the rest left to the changes before it.
    const fill = messages.find((m) => m.envelope.op === 'r' && m.envelope.key?.id === 4)?.envelope;
    expect(Object.keys(fill?.after ?? {})).toEqual(['id', 'body']);
    expect(fill?.unchanged_toast).toEqual(['title', 'ver']);
    const folded = [...foldTopic(messages).values()]
      .map((row) => row as { id: number; title: string; ver: number; body?: string })
      .sort((a, b) => a.id - b.id);
    expect(folded.map((r) => ({ ...r, length: r.body?.length, body: r.body === undefined ? undefined : md5(r.body) }))).toEqual(
      expected.map((r) => ({ ...r, length: Number(r.length) })),
    );
    // The seam was exercised: the updated rows were superseded by their changes, and the rows whose
    // changes all left the body out gave their bodies (`r` messages of the key and the body).
    expect(Number(done?.rows_emitted)).toBe(ids(3).length - 1 + ids(0).length + ids(1).length);
  }, 300_000);
});

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** The rule that decides which of a dropped row's values are still right at the high watermark. */
describe('snapshots: which large values a dropped row gives (ToastFills, toastBatches)', () => {
  it('takes only the columns every unseen update left out, and nothing after an insert, delete or truncate', () => {
    const fills = new ToastFills();
    fills.note('{"id":1}', ['a', 'b']);
    fills.note('{"id":1}', ['b']); // `a` carried: its value is this change's, not the chunk row's
    fills.note('{"id":1}', ['b']); // the same change seen again in the ring
    fills.note('{"id":2}', []); // carried everything
    fills.note('{"id":3}', ['a']);
    fills.note('{"id":3}', null); // a delete
    fills.note('{"id":3}', ['a']); // the insert half of a key change
    fills.note('{"id":4}', ['a']);
    fills.note('{"id":4}', ['b']);
    expect([...(fills.columns('{"id":1}') ?? [])]).toEqual(['b']);
    expect(fills.columns('{"id":2}')).toBeUndefined();
    expect(fills.columns('{"id":3}')).toBeUndefined();
    expect(fills.columns('{"id":4}')).toBeUndefined();
    expect(fills.columns('{"id":5}')).toBeUndefined();
  });

  it('renders the key and the filled columns of the chunk row, the rest listed as unchanged', () => {
    const format: RowBatchFormat = {
      source: 'src',
      database: 'db',
      schema: 'public',
      table: 'docs',
      columns: [
        { name: 'title', kind: { kind: 'string' } },
        { name: 'id', kind: { kind: 'number' } },
        { name: 'body', kind: { kind: 'string' } },
        { name: 'ver', kind: { kind: 'number' } },
      ],
      keyIndexes: [1],
      backfill: 3,
      lsn: '0/10',
      commitLsn: '0/20',
      txId: 9,
      commitTimeMs: 1,
      tsMs: 2,
    };
    const rows = new CopyRows(1024);
    rows.push(Buffer.from('t1\t1\tbody\\tone\t5\n'));
    rows.push(Buffer.from('t2\t2\t\\N\t6\n'));
    const batches = toastBatches(rows, Int32Array.from([5, 6]), [{ row: 0, columns: new Set(['body']) }], format, 4, 'topic', 7);
    expect(batches.map((b) => [b.partition, b.count])).toEqual([[1, 1]]);
    const { key, envelope } = new RowBatchRenderer(batches[0].format).render(batches[0].rows.toString());
    expect(key).toBe('{"id":1}');
    const parsed = JSON.parse(envelope) as Envelope;
    expect(parsed).toMatchObject({
      id: 'src:0/20:7',
      op: 'r',
      after: { id: 1, body: 'body\tone' },
      unchanged_toast: ['title', 'ver'],
    });
    expect(Object.keys(parsed.after ?? {})).toEqual(['id', 'body']);
  });
});
