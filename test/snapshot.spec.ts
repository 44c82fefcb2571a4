import type { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { ApiClient, backfill, runCli } from '@tributary/cli';
import type { GroupConfig, SourceConfig } from '@tributary/config';
import { GroupMember, GroupRepository, MessageNotifier } from '@tributary/consumer-groups';
import { DatabaseSink, PostgresDialect } from '@tributary/db-sink';
import { createApp } from '@tributary/runtime';
import { TableSchemaRepository } from '@tributary/schema-registry';
import type { BackfillRequestError } from '@tributary/snapshot';
import { BackfillRepository, planBackfill, SNAPSHOT_SESSION_OPTIONS, SnapshotTable } from '@tributary/snapshot';
import { GroupRunner } from '@tributary/worker';
import { callApi } from './support/api';
import { CaptureHarness, platformConfig, sourceConfig } from './support/capture-harness';
import { TestCluster, testedVersions, waitFor } from './support/pg-cluster';
import { backfillsSettled, captureCaughtUp, TableChurn } from './support/snapshot';
import { sleep } from '@tributary/timing';

/** Every row of every type, and composite keys: a snapshot renders exactly what the stream renders. */
describe('snapshots: initial snapshot, types, composite keys, the backfill API', () => {
  let cluster: TestCluster;
  let harness: CaptureHarness;
  let app: INestApplication;
  let base: string;
  let captured: SourceConfig;
  const sql = (text: string, params: unknown[] = []) => cluster.query('src', text, params);
  const TABLES = ['public.typed', 'public.pairs', 'public.plain', 'public.nokey', 'public.slow', 'public.odd_keys'];

  const call = (method: string, path: string, body?: unknown) => callApi(base, method, path, body);

  const settled = (ids?: number[]) => backfillsSettled(harness.db.pool, ids);

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    await cluster.createDatabase('src');
    const platformUrl = await cluster.createDatabase('platform');
    await sql(`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')`);
    await sql(`CREATE TABLE typed (
      id int8 PRIMARY KEY, i2 int2, i4 int4, num numeric, num_fixed numeric(12,3), f4 float4, f8 float8, b bool, t text,
      vc varchar(20), u uuid, j json, jb jsonb, ia int[], ta text[], i8a int8[], d date, tm time, ts timestamp,
      tstz timestamptz, iv interval, by bytea, m mood, ma mood[], touched int NOT NULL DEFAULT 0)`);
    await sql(`INSERT INTO typed (id, i2, i4, num, num_fixed, f4, f8, b, t, vc, u, j, jb, ia, ta, i8a, d, tm, ts, tstz, iv, by, m, ma)
      VALUES (9223372036854775807, -32768, 2147483647, 123456789012345678901234567890.123456789, 1.5, 1.5, 0.1, true,
      'hé "quoted" \\ back', 'vc', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"n": 12345678901234567890, "z": [1, 2]}',
      '{"b": 1, "a": {"c": null}}', '{1,NULL,3}', '{"x","y,z",NULL}', '{9223372036854775807}', '2024-02-29', '13:14:15.123456',
      '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.123456+02', '1 year 2 mons 3 days 04:05:06.5', '\\xdeadbeef', 'happy',
      '{sad,ok}')`);
    await sql(`INSERT INTO typed (id, f4, f8, num, ts, tstz) VALUES (-1, 'NaN', '-Infinity', 'NaN', 'infinity', '-infinity')`);
    // Characters COPY's text format escapes (tab, newline, carriage return, backslash), in a value and an array.
    await sql(
      `INSERT INTO typed (id, t, ta, j) VALUES (-2, E'tab\\there\\nline\\r\\\\end', ARRAY[E'a\\tb', E'c\\\\d'], '"\\u0009"')`,
    );
    await sql(`INSERT INTO typed (id) SELECT g FROM generate_series(1, 300) g`);
    // The key's column order differs from the table's: keys render (and partition) in key order.
    await sql(`CREATE TABLE pairs (a int, b text, c uuid, v numeric, PRIMARY KEY (b, a, c))`);
    await sql(`INSERT INTO pairs SELECT g % 7, 'k' || (g % 13), md5(g::text)::uuid, g / 3.0 FROM generate_series(1, 500) g`);
    // Keys whose text must survive a round trip as the next chunk's lower bound: char(n), timestamptz, float8.
    await sql(`CREATE TABLE odd_keys (code char(3), at timestamptz, f float8, n int, PRIMARY KEY (code, at, f))`);
    await sql(`INSERT INTO odd_keys SELECT chr(97 + g % 5) || 'x', timestamptz '2024-03-01 12:00:00.123456+05' + g * interval '1 second',
                 g / 7.0, g FROM generate_series(1, 300) g`);
    await sql(`CREATE TABLE plain (id int PRIMARY KEY, grp int NOT NULL, note text)`);
    await sql(`INSERT INTO plain SELECT g, g % 10, 'row ' || g FROM generate_series(1, 1000) g`);
    await sql(`CREATE TABLE nokey (a int, b text)`);
    await sql(`ALTER TABLE nokey REPLICA IDENTITY FULL`);
    await sql(`INSERT INTO nokey VALUES (1, 'x')`);
    await sql(`CREATE TABLE slow (id int PRIMARY KEY, v int)`);
    await sql(`CREATE TABLE uncaptured (id int PRIMARY KEY)`);

    const config = platformConfig(platformUrl, [
      sourceConfig('src', cluster.url('src'), TABLES, { snapshotChunkSize: 64, snapshotChunkDelayMs: 0 }),
    ]);
    captured = config.sources[0];
    harness = await CaptureHarness.start(config);
    app = (await createApp({ ...config, logLevel: 'error' }, ['api'])) as INestApplication;
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    await harness?.stop();
    await cluster?.stop();
  });

  it('snapshots every table of a new slot once, as r messages identical to what the stream renders', async () => {
    const done = await settled();
    const byTable = new Map(done.map((b) => [b.table_name, b]));
    expect([...byTable.keys()].sort()).toEqual(['nokey', 'odd_keys', 'pairs', 'plain', 'slow', 'typed']);
    expect(byTable.get('odd_keys')).toMatchObject({ status: 'done', rows_done: '300', rows_emitted: '300', chunks_done: 5 });
    const odd = await harness.messages('src.public.odd_keys');
    expect(new Set(odd.map((m) => m.key)).size).toBe(300);
    expect(odd[0].envelope.key).toEqual({
      code: expect.stringMatching(/^[a-e]x $/),
      at: expect.any(String),
      f: expect.any(Number),
    });
    expect(byTable.get('typed')).toMatchObject({ status: 'done', rows_done: '303', rows_emitted: '303' });
    expect(byTable.get('pairs')).toMatchObject({ status: 'done', rows_done: '500' });
    expect(byTable.get('plain')).toMatchObject({ status: 'done', rows_done: '1000', chunks_done: 16 });
    expect(byTable.get('slow')).toMatchObject({ status: 'done', rows_done: '0', chunks_done: 0 }); // empty: no snapshot needed
    expect(byTable.get('nokey')).toMatchObject({ status: 'failed' });
    expect(byTable.get('nokey')?.error).toMatch(/no primary key/);

    const snap = await harness.messages('src.public.typed');
    expect(snap).toHaveLength(303);
    expect(snap.every((m) => m.envelope.op === 'r' && m.envelope.before === null)).toBe(true);
    const escaped = snap.find((m) => m.key === '{"id":"-2"}');
    expect(escaped?.envelope.after).toMatchObject({ t: 'tab\there\nline\r\\end', ta: ['a\tb', 'c\\d'], j: '\t' });
    const first = snap.find((m) => m.key === '{"id":"9223372036854775807"}');
    expect(first?.envelope.source).toMatchObject({ name: 'src', schema: 'public', table: 'typed', snapshot: true });
    expect(first?.envelope.after).toEqual({
      id: '9223372036854775807',
      i2: -32768,
      i4: 2147483647,
      num: '123456789012345678901234567890.123456789',
      num_fixed: '1.500',
      f4: 1.5,
      f8: 0.1,
      b: true,
      t: 'hé "quoted" \\ back',
      vc: 'vc',
      u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      j: expect.anything(), // checked as text below: JSON.parse would round the big number
      jb: { a: { c: null }, b: 1 },
      ia: [1, null, 3],
      ta: ['x', 'y,z', null],
      i8a: ['9223372036854775807'],
      d: '2024-02-29',
      tm: '13:14:15.123456',
      ts: '2024-02-29T13:14:15.123456',
      tstz: '2024-02-29T11:14:15.123456Z',
      iv: 'P1Y2M3DT4H5M6.5S',
      by: '3q2+7w==',
      m: 'happy',
      ma: ['sad', 'ok'],
      touched: 0,
    });

    expect(await harness.envelopeText('src.public.typed', '{"id":"9223372036854775807"}')).toContain(
      '"j":{"n": 12345678901234567890, "z": [1, 2]}',
    );

    // Touch every row: the stream's u messages must carry the same key text, partition and values.
    await sql('UPDATE typed SET touched = 1');
    await sql('UPDATE pairs SET v = v');
    for (const table of ['typed', 'pairs']) {
      const expected = table === 'typed' ? 303 : 500;
      const all = await waitFor(async () => {
        const m = await harness.messages(`src.public.${table}`);
        return m.length >= expected * 2 && m;
      }, `updates of ${table}`);
      const reads = new Map(all.filter((m) => m.envelope.op === 'r').map((m) => [m.key, m]));
      const updates = all.filter((m) => m.envelope.op === 'u');
      expect(updates).toHaveLength(expected);
      for (const u of updates) {
        const r = reads.get(u.key);
        expect(r).toBeDefined();
        expect(u.partition).toBe(r?.partition);
        expect(u.envelope.key).toEqual(r?.envelope.key);
        expect({ ...u.envelope.after, touched: 0 }).toEqual(
          table === 'typed' ? r?.envelope.after : { ...r?.envelope.after, touched: 0 },
        );
      }
    }
    const pairKey = (await harness.messages('src.public.pairs'))[0].key as string;
    expect(Object.keys(JSON.parse(pairKey))).toEqual(['b', 'a', 'c']);
  });

  it('reads a table in chunks cut at a byte cap, each row once, whatever the width', async () => {
    const client = new Client({ connectionString: cluster.url('src'), options: SNAPSHOT_SESSION_OPTIONS });
    await client.connect();
    try {
      const table = await SnapshotTable.load(client, 'public', 'plain');
      const seen: number[] = [];
      let after: string[] | null = null;
      let chunks = 0;
      for (;;) {
        // At most 2,000 bytes per chunk: about 130 of the 1,000 rows; the rest is let go and read next.
        const read = await table.readChunk(client, after, 1_000, null, 2_000);
        chunks++;
        for (let i = 0; i < read.rows.length; i++) seen.push(Number(read.rows.leadingFields(i, 1)[0]));
        if (!read.cut && read.rows.length < 1_000) break;
        expect(read.rows.length).toBeGreaterThan(0);
        after = read.endKey;
      }
      expect(chunks).toBeGreaterThan(5);
      expect(seen).toEqual(Array.from({ length: 1_000 }, (_, i) => i + 1));
    } finally {
      await client.end();
    }
  });

  it('validates backfill requests: 404 source, 400 naming the field, 409 when not possible', async () => {
    const post = (body: unknown, source = 'src') => call('POST', `/api/v1/sources/${source}/backfills`, body);
    expect((await post({ table: 'public.plain' }, 'nope')).status).toBe(404);
    const bad = [
      [{ table: 'plain' }, 'table'],
      [{ table: 'public.uncaptured' }, 'table'],
      [{ table: 'public.missing_t' }, 'table'],
      [{ table: 'public.nokey' }, 'table'],
      [{ table: 'public.plain', chunkSize: 0 }, 'chunkSize'],
      [{ table: 'public.plain', extra: 1 }, '(body)'],
      [{ table: 'public.plain', where: 'grp = ' }, 'where'],
      [{ table: 'public.plain', where: 'nosuchcolumn = 1' }, 'where'],
      [{ table: 'public.plain', where: 'grp + 1' }, 'where'],
      [{ table: 'public.plain', where: 'true; DROP TABLE plain' }, 'where'],
      [{ table: 'public.plain', where: 'true) OR (true' }, 'where'],
      [{ table: 'public.plain', where: 'true -- comment' }, 'where'],
      [{ table: 'public.plain', where: "note = 'unterminated" }, 'where'],
    ] as const;
    for (const [body, field] of bad) {
      const res = await post(body);
      expect({ body, status: res.status, field: res.body.field }).toEqual({ body, status: 400, field });
      expect(res.body.detail).toEqual(expect.any(String));
    }
    expect(await sql(`SELECT count(*)::int AS n FROM plain`)).toEqual([{ n: 1000 }]);
  });

  it('records one active backfill per table and condition, even for requests at the same moment', async () => {
    // chunkSize 1: the backfill that wins cannot finish before the others have tried to insert theirs.
    const request = { table: 'public.plain', where: 'grp = 3', chunkSize: 1 };
    const results = await Promise.allSettled([1, 2, 3].map(() => planBackfill(harness.db.pool, captured, request)));
    const created = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(created).toHaveLength(1);
    const refusals = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as BackfillRequestError] : []));
    expect(refusals.map((e) => [e.constructor.name, e.status, e.field])).toEqual([
      ['BackfillRequestError', 409, 'table'],
      ['BackfillRequestError', 409, 'table'],
    ]);
    for (const e of refusals) {
      expect(e.message).toMatch(
        new RegExp(`^backfill ${created[0].id} of public.plain with the same condition is already (pending|running)$`),
      );
    }
    expect((await new BackfillRepository(harness.db.pool).cancel('src', created[0].id)).cancelled).toBe(true);
    await settled([created[0].id]);
  });

  it('runs a backfill with a condition, shows its progress, keeps its record', async () => {
    const before = (await harness.messages('src.public.plain')).length;
    const res = await call('POST', '/api/v1/sources/src/backfills', {
      table: 'public.plain',
      where: "grp IN (1, 2) AND note LIKE 'row %'",
      chunkSize: 50,
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ table: 'public.plain', status: 'pending', chunkSize: 50, reason: 'api' });
    expect(res.body.estimatedTotal).toEqual(expect.any(Number));
    const id = res.body.id as number;
    const dup = await call('POST', '/api/v1/sources/src/backfills', {
      table: 'public.plain',
      where: "grp IN (1, 2) AND note LIKE 'row %'",
    });
    expect([202, 409]).toContain(dup.status); // 409 while the first one is still active
    await settled([id]);
    const view = await call('GET', `/api/v1/sources/src/backfills/${id}`);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({
      status: 'done',
      rowsDone: 200,
      rowsEmitted: 200,
      percent: 100,
      etaSeconds: 0,
      chunksDone: 5,
    });
    expect(view.body.rowsPerSecond).toBeGreaterThan(0);
    const list = await call('GET', '/api/v1/sources/src/backfills');
    expect(list.body.map((b: { id: number }) => b.id)).toContain(id);
    const after = await waitFor(async () => {
      const m = await harness.messages('src.public.plain');
      return m.length >= before + 200 && m;
    }, 'the backfill messages');
    const fresh = after.filter(
      (m) => m.envelope.op === 'r' && (m.envelope.source as unknown as { backfill: number }).backfill === id,
    );
    expect(fresh).toHaveLength(200);
    expect(new Set(fresh.map((m) => (m.envelope.after as { grp: number }).grp))).toEqual(new Set([1, 2]));
    expect((await call('DELETE', `/api/v1/sources/src/backfills/${id}`)).status).toBe(409);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain(
      `tributary_backfill_rows_done{source="src",table="public.plain",backfill="${id}",status="done"} 200`,
    );
    expect(metrics).toMatch(/tributary_backfill_rows_per_second\{[^}]*backfill="\d+"[^}]*\} \d+/);
    expect((await call('GET', `/api/v1/sources/src/backfills/999999`)).status).toBe(404);
  });

  it('starts and follows a backfill from the CLI, with a progress bar', async () => {
    const lines: string[] = [];
    const bars: string[] = [];
    const api = new ApiClient(base);
    const signal = new AbortController().signal;
    const argv = ['backfill', 'start', 'src', 'public.plain', '--where', 'grp = 3', '--chunk-size', '30'];
    await backfill(api, (t) => lines.push(t), argv.slice(1), {
      where: 'grp = 3',
      chunkSize: '30',
      signal,
      pollMs: 20,
      progress: (line) => bars.push(line),
    });
    expect(lines[0]).toMatch(/^backfill \d+ of public\.plain queued/);
    expect(lines[lines.length - 1]).toMatch(/^backfill \d+ of public\.plain done: 100 rows$/);
    expect(bars[bars.length - 1]).toMatch(/^\[█{30}\] {2}100\.0% {2}100\/~\d+ rows {2}.*done$/);
    const status: string[] = [];
    await runCli(['backfill', 'status', 'src'], (t) => status.push(t), api);
    expect(status[0]).toMatch(/^ID\s+TABLE\s+STATUS\s+ROWS/);
    expect(status.join('\n')).toContain('public.plain');
    await expect(runCli(['backfill', 'start', 'src', 'public.nope'], () => undefined, api)).rejects.toThrow(/400/);
  });

  it('cancels a running backfill', async () => {
    await sql(`INSERT INTO slow SELECT g, g FROM generate_series(1, 3000) g`);
    const res = await call('POST', '/api/v1/sources/src/backfills', { table: 'public.slow', chunkSize: 1 });
    expect(res.status).toBe(202);
    const id = res.body.id as number;
    await waitFor(async () => (await call('GET', `/api/v1/sources/src/backfills/${id}`)).body.rowsDone > 5, 'some progress');
    const cancelled = await call('DELETE', `/api/v1/sources/src/backfills/${id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    await sleep(500);
    const later = (await call('GET', `/api/v1/sources/src/backfills/${id}`)).body;
    expect(later.status).toBe('cancelled');
    expect(later.rowsDone).toBeLessThan(3000);
    const rowsThen = later.rowsDone;
    await sleep(500);
    expect((await call('GET', `/api/v1/sources/src/backfills/${id}`)).body.rowsDone).toBe(rowsThen);
  });
});

/**
 * The seam: a 200,000-row table backfilled while updates, deletes, inserts and key changes hit it; a
 * Postgres target fed by a database sink from the topic ends equal to the source, row for row.
 */
describe('snapshots: a 200,000-row backfill under concurrent writes', () => {
  const ROWS = 200_000;
  let cluster: TestCluster;
  let harness: CaptureHarness;
  let notifier: MessageNotifier;
  let repo: GroupRepository;
  let runner: GroupRunner | undefined;
  let sink: DatabaseSink | undefined;
  let churn: TableChurn | undefined;
  let source: SourceConfig;

  beforeAll(async () => {
    cluster = await TestCluster.start(testedVersions().includes(15) ? 15 : 18);
    await cluster.createDatabase('src');
    await cluster.createDatabase('target');
    const platformUrl = await cluster.createDatabase('platform');
    await cluster.query(
      'src',
      'CREATE TABLE big (id int PRIMARY KEY, grp int NOT NULL, v bigint NOT NULL, note text, ver int NOT NULL)',
    );
    await cluster.query('src', `INSERT INTO big SELECT g, g % 100, g * 1000, md5(g::text), 0 FROM generate_series(1, ${ROWS}) g`);
    await cluster.query('src', 'ANALYZE big');
    // `never`: the backfill starts through the API path (planBackfill) once the writers run.
    source = sourceConfig('src', cluster.url('src'), ['public.big'], { snapshot: 'never' });
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
      batchSize: 2_000,
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
    await churn?.stop();
    await runner?.stop();
    await sink?.close();
    await notifier?.close();
    await harness?.stop();
    await cluster?.stop();
  }, 120_000);

  it('ends with a target equal to the source', async () => {
    const position = async () => {
      const { rows } = await harness.db.pool.query<{ at: string | null }>(
        `SELECT last_key->>0 AS at FROM tributary.backfills WHERE table_name = 'big' AND status = 'running'`,
      );
      return rows.length ? Number(rows[0].at ?? 0) : null;
    };
    churn = new TableChurn(cluster.url('src'), 'big', ROWS, 2, 0, position, 10_000);
    churn.start();
    await sleep(500);
    const backfill = await planBackfill(harness.db.pool, source, { table: 'public.big', chunkSize: 5_000 });
    expect(backfill.estimatedTotal).toBeGreaterThan(ROWS * 0.9);
    const [done] = await backfillsSettled(harness.db.pool, [backfill.id], 600_000);
    // Keep writing a little after the last chunk, then stop and let everything drain.
    await sleep(1_000);
    await churn.stop();
    expect(done.status).toBe('done');
    expect(churn.transactions).toBeGreaterThan(100);
    // The seam was exercised: rows changed while their chunk was read were left to the stream.
    expect(Number(done.rows_emitted)).toBeLessThan(Number(done.rows_done));
    await captureCaughtUp(cluster, 'src', 'tributary_src', 300_000);
    await waitFor(
      async () => {
        const lag = await repo.lag('to-pg');
        return lag.length > 0 && lag.every((l) => l.lag === '0' && l.status === 'ok');
      },
      'the sink to catch up',
      600_000,
    );
    const query = 'SELECT id, grp, v::text AS v, note, ver FROM big ORDER BY id';
    const [expected, actual] = await Promise.all([cluster.query('src', query), cluster.query('target', query)]);
    expect(actual.length).toBe(expected.length);
    const differing = expected.filter((row, i) => JSON.stringify(row) !== JSON.stringify(actual[i]));
    expect(differing.slice(0, 5)).toEqual([]);
    expect(actual).toEqual(expected);
    process.stderr.write(
      `snapshot seam: ${done.rows_done} rows read, ${done.rows_emitted} emitted (the rest superseded by the stream), ` +
        `${churn.transactions} concurrent transactions with ${churn.changes} changes\n`,
    );
  }, 900_000);
});
