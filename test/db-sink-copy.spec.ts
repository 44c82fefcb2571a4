import { Client } from 'pg';
import { GroupRepository, MessageNotifier } from '@tributary/consumer-groups';
import { CopyInserts, DatabaseSink, MIN_COPY_ROWS, PostgresDialect } from '@tributary/db-sink';
import { TableSchemaRepository, type ColumnSchema } from '@tributary/schema-registry';
import { CaptureHarness, platformConfig, sourceConfig } from './support/capture-harness';
import { TestCluster, waitFor } from './support/pg-cluster';
import { backfillsSettled, captureCaughtUp } from './support/snapshot';
import { sinkGroup, SinkGroups } from './support/sink-groups';

const COLUMNS = `id int PRIMARY KEY, tx text, ta text[], ia int[], by bytea, jb jsonb, j json, n numeric, b boolean,
  tz timestamptz, m mood, vc varchar(30)`;
const NAMES = ['id', 'tx', 'ta', 'ia', 'by', 'jb', 'j', 'n', 'b', 'tz', 'm', 'vc'];
/** What COPY text must escape, in every kind of column: backslashes, tabs, newlines, CRs, a text `\N`, NULLs. */
const TRICKY = [`'a\\b'`, `E'tab\\there'`, `E'new\\nline\\r'`, `'\\N'`, `''`, 'NULL', `'"q" {x,y}'`];
const row = (g: string) => `(${g},
  (ARRAY[${TRICKY.join(', ')}])[1 + ${g} % 7] || ${g},
  ARRAY[(ARRAY[${TRICKY.join(', ')}])[1 + ${g} % 7], NULL, 'NULL', 'b,c', E'\\\\N', '{}']::text[],
  CASE WHEN ${g} % 5 = 0 THEN NULL ELSE ARRAY[${g}, -${g}] END,
  CASE WHEN ${g} % 3 = 0 THEN NULL ELSE decode(lpad(to_hex(${g}), 8, '0') || '5c0a09', 'hex') END,
  jsonb_build_object('s', E'back\\\\slash\\ttab\\n', 'n', ${g} * 1.10, 'u', E'\\u2603'),
  ('{"raw": "x\\\\y", "big": 12345678901234567890.50, "i": ' || ${g} || '}')::json,
  CASE WHEN ${g} % 4 = 0 THEN NULL ELSE ${g} / 7.0 END, ${g} % 2 = 0,
  '2024-02-29 12:00:00.123456+01'::timestamptz + ${g} * interval '1 minute',
  (ARRAY['sad', 'happy'])[1 + ${g} % 2]::mood, 'v' || ${g})`;
const AS_TEXT = `SELECT ${NAMES.map((c) => (c === 'j' ? 'j::jsonb::text' : `${c}::text`)).join(', ')} FROM typed ORDER BY id`;

/**
 * The COPY fast path of the Postgres sink (postgres-copy.ts): an initial snapshot and large inserts
 * reach the target exactly, a row already in the target falls back to the upsert, and a run of
 * inserted rows followed by updates of them ends with the updates.
 */
describe('postgres sink: COPY of rows new to the target', () => {
  let cluster: TestCluster;
  let harness: CaptureHarness;
  let notifier: MessageNotifier;
  let repo: GroupRepository;
  let groups: SinkGroups;

  beforeAll(async () => {
    cluster = await TestCluster.start(15);
    await cluster.createDatabase('src');
    await cluster.createDatabase('target');
    const platformUrl = await cluster.createDatabase('platform');
    for (const db of ['src', 'target']) await cluster.query(db, `CREATE TYPE mood AS ENUM ('sad', 'happy')`);
    await cluster.query('src', `CREATE TABLE typed (${COLUMNS})`);
    await cluster.query(
      'src',
      `INSERT INTO typed SELECT (r).* FROM (SELECT ${row('g')}::typed AS r FROM generate_series(1, 1500) g) s`,
    );
    // The target already holds two of the rows, with other values: their batches fall back to the upsert.
    await cluster.query('target', `CREATE TABLE typed (${COLUMNS})`);
    await cluster.query('target', `INSERT INTO typed (id, tx) VALUES (7, 'stale'), (1200, 'stale')`);
    harness = await CaptureHarness.start(
      platformConfig(platformUrl, [sourceConfig('src', cluster.url('src'), ['public.typed'], { snapshotChunkSize: 1000 })], 2),
    );
    notifier = new MessageNotifier(platformUrl);
    await notifier.start();
    repo = new GroupRepository(harness.db.pool);
    groups = new SinkGroups(repo, notifier);
    const schemas = new TableSchemaRepository(harness.db.pool);
    const options = { group: 'copy-pg', autoCreate: true, addColumns: true };
    const sink = new DatabaseSink(() => PostgresDialect.connect(cluster.url('target'), 'public'), schemas, options, 'postgres');
    await groups.start(sinkGroup('copy-pg', ['src.public.typed'], { onFailure: 'block', batchSize: 1000 }), sink);
    await backfillsSettled(harness.db.pool);
  });

  afterAll(async () => {
    await groups?.stop();
    await notifier?.close();
    await harness?.stop();
    await cluster?.stop();
  });

  const caughtUp = async () => {
    await captureCaughtUp(cluster, 'src', 'tributary_src');
    await waitFor(async () => {
      const lag = await repo.lag('copy-pg');
      return lag.length > 0 && lag.every((l) => l.lag === '0' && l.status === 'ok') && lag.some((l) => l.committed !== '0');
    }, 'the sink to catch up');
  };

  it('ends an initial snapshot with every value exact, rows already in the target overwritten', async () => {
    await caughtUp();
    expect(await cluster.query('target', AS_TEXT)).toEqual(await cluster.query('src', AS_TEXT));
  });

  it('applies large inserts and later updates of the same rows in one batch in order', async () => {
    await cluster.query(
      'src',
      `BEGIN;
       INSERT INTO typed SELECT (r).* FROM (SELECT ${row('g')}::typed AS r FROM generate_series(1501, 2000) g) s;
       UPDATE typed SET tx = E'updated\\t' || id, ta = NULL WHERE id BETWEEN 1600 AND 1610;
       DELETE FROM typed WHERE id = 1700;
       COMMIT`,
    );
    await caughtUp();
    expect(await cluster.query('target', AS_TEXT)).toEqual(await cluster.query('src', AS_TEXT));
    const [updated] = await cluster.query<{ n: string }>('target', `SELECT count(*) AS n FROM typed WHERE tx LIKE 'updated%'`);
    expect(updated.n).toBe('11');
  });

  it('copies rows new to the table, and leaves a batch with a row already there to the upsert', async () => {
    const client = new Client({ connectionString: cluster.url('target') });
    await client.connect();
    try {
      await client.query('CREATE TABLE copied (id bigint PRIMARY KEY, note text)');
      const columns: ColumnSchema[] = [
        { name: 'id', type: 'bigint', kind: 'exact' },
        { name: 'note', type: 'text', kind: 'string' },
      ];
      const types = new Map([
        ['id', 'bigint'],
        ['note', 'text'],
      ]);
      const rows = (from: number) => Array.from({ length: MIN_COPY_ROWS }, (_, i) => ({ id: String(from + i), note: `n\t${i}` }));
      const copies = new CopyInserts();
      const table = { id: 'copied', sql: '"public"."copied"' };
      await client.query('BEGIN');
      expect(await copies.tryCopy(client, table, columns, types, rows(1))).toBe(true);
      // Row 100 is there now: nothing of this batch is written, the transaction goes on.
      expect(await copies.tryCopy(client, table, columns, types, rows(100))).toBe(false);
      // After a conflict the table skips the fast path for the next two batches.
      expect(await copies.tryCopy(client, table, columns, types, rows(1000))).toBe(false);
      await client.query('COMMIT');
      const { rows: counted } = await client.query(`SELECT count(*)::int AS n, min(note) AS note FROM copied`);
      expect(counted[0]).toEqual({ n: MIN_COPY_ROWS, note: 'n\t0' });
    } finally {
      await client.end();
    }
  });
});
