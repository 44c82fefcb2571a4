import type { Envelope } from './support/capture-harness';
import { CaptureHarness, platformConfig, sourceConfig } from './support/capture-harness';
import type { PgVersion } from './support/pg-cluster';
import { TestCluster, testedVersions, waitFor } from './support/pg-cluster';

const TABLES = ['public.types_t', 'public.toast_t', 'public.full_t', 'public.nopk_t', 'public.acct', 'public.ledger'];

describe.each(testedVersions())('capture on Postgres %i', (version: PgVersion) => {
  let cluster: TestCluster;
  let harness: CaptureHarness;
  const sql = (text: string, params: unknown[] = []) => cluster.query('src', text, params);
  const topic = (table: string) => `src.public.${table}`;

  async function messagesOf(table: string, expected: number): Promise<Envelope[]> {
    const found = await waitFor(async () => {
      const rows = await harness.messages(topic(table));
      return rows.length >= expected && rows;
    }, `${expected} messages on ${table}`);
    // One partition per key in these tests' expectations; order across partitions by (commitLsn, seq).
    return found
      .map((m) => m.envelope)
      .sort((a, b) => cmpLsn(a.source.commitLsn, b.source.commitLsn) || a.source.seq - b.source.seq);
  }

  beforeAll(async () => {
    cluster = await TestCluster.start(version);
    await cluster.createDatabase('src');
    const platformUrl = await cluster.createDatabase('platform');
    await sql(`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')`);
    await sql(`CREATE TABLE types_t (
      id int PRIMARY KEY, i2 int2, i4 int4, i8 int8, num numeric, num_fixed numeric(12,3), f4 float4, f8 float8,
      b bool, t text, vc varchar(20), u uuid, j json, jb jsonb, ia int[], ta text[], i8a int8[], ja jsonb[],
      d date, tm time, ts timestamp, tstz timestamptz, iv interval, by bytea, m mood, ma mood[])`);
    await sql(`CREATE TABLE toast_t (id int PRIMARY KEY, small text, big text)`);
    await sql(`ALTER TABLE toast_t ALTER COLUMN big SET STORAGE EXTERNAL`);
    await sql(`CREATE TABLE full_t (id int PRIMARY KEY, v text, big text)`);
    await sql(`ALTER TABLE full_t REPLICA IDENTITY FULL`);
    await sql(`CREATE TABLE nopk_t (a int, b text)`);
    await sql(`ALTER TABLE nopk_t REPLICA IDENTITY FULL`);
    await sql(`CREATE TABLE acct (id int PRIMARY KEY, balance int NOT NULL)`);
    await sql(`CREATE TABLE ledger (id serial PRIMARY KEY, acct int NOT NULL, delta int NOT NULL)`);
    harness = await CaptureHarness.start(platformConfig(platformUrl, [sourceConfig('src', cluster.url('src'), TABLES)]));
  });

  afterAll(async () => {
    await harness?.stop();
    await cluster?.stop();
  });

  it('keeps every type exact', async () => {
    await sql(`INSERT INTO types_t VALUES (
      1, -32768, 2147483647, 9223372036854775807, 123456789012345678901234567890.123456789, 1.5, 1.5, 0.1,
      true, 'hé "quoted" \\ back', 'vc', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"n": 12345678901234567890, "z": [1, 2]}',
      '{"b": 1, "a": {"c": null}}', '{1,NULL,3}', '{"x","y,z",NULL}', '{9223372036854775807}', ARRAY['{"k":1}'::jsonb],
      '2024-02-29', '13:14:15.123456', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.123456+02', '1 year 2 mons 3 days 04:05:06.5',
      '\\xdeadbeef', 'happy', '{sad,ok}')`);
    await sql(`INSERT INTO types_t (id, f4, f8, num) VALUES (2, 'NaN', '-Infinity', 'NaN')`);
    await sql(`INSERT INTO types_t (id) VALUES (3)`);
    const [full, special, nulls] = await messagesOf('types_t', 3);
    expect(full.op).toBe('c');
    expect(full.before).toBeNull();
    expect(full.key).toEqual({ id: 1 });
    expect(full.after).toEqual({
      id: 1,
      i2: -32768,
      i4: 2147483647,
      i8: '9223372036854775807',
      num: '123456789012345678901234567890.123456789',
      num_fixed: '1.500',
      f4: 1.5,
      f8: 0.1,
      b: true,
      t: 'hé "quoted" \\ back',
      vc: 'vc',
      u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      j: { n: Number('12345678901234567890'), z: [1, 2] }, // exact in the raw text, checked below
      jb: { a: { c: null }, b: 1 },
      ia: [1, null, 3],
      ta: ['x', 'y,z', null],
      i8a: ['9223372036854775807'],
      ja: [{ k: 1 }],
      d: '2024-02-29',
      tm: '13:14:15.123456',
      ts: '2024-02-29T13:14:15.123456',
      tstz: '2024-02-29T11:14:15.123456Z',
      iv: 'P1Y2M3DT4H5M6.5S',
      by: Buffer.from('deadbeef', 'hex').toString('base64'),
      m: 'happy',
      ma: ['sad', 'ok'],
    });
    expect(special.after).toMatchObject({ f4: 'NaN', f8: '-Infinity', num: 'NaN' });
    expect(Object.values(nulls.after ?? {}).filter((v) => v !== null)).toEqual([3]);
    // Exactness is a property of the stored text, not of JavaScript numbers: check the raw JSON.
    const raw = await harness.envelopeText(topic('types_t'), '{"id":1}');
    expect(raw).toContain('"j":{"n": 12345678901234567890, "z": [1, 2]}');
    expect(raw).toContain('"i8":"9223372036854775807"');
    // Column order is the table's order.
    expect(Object.keys(full.after ?? {}).slice(0, 4)).toEqual(['id', 'i2', 'i4', 'i8']);
    expect(full.source).toMatchObject({ name: 'src', database: 'src', schema: 'public', table: 'types_t' });
    expect(typeof full.source.txId).toBe('number');
    expect(full.source.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(full.id).toBe(`src:${full.source.commitLsn}:0`);
  });

  it("records each captured table's shape for sinks", async () => {
    const { rows } = await harness.db.pool.query(
      `SELECT topic, columns, primary_key FROM tributary.source_tables WHERE source = 'src' AND table_name = 'types_t'`,
    );
    expect(rows[0].topic).toBe('src.public.types_t');
    expect(rows[0].primary_key).toEqual(['id']);
    const byName = Object.fromEntries(
      (rows[0].columns as { name: string; type: string; kind: string }[]).map((c) => [c.name, c]),
    );
    expect(byName.num_fixed).toEqual({ name: 'num_fixed', type: 'numeric(12,3)', kind: 'exact' });
    expect(byName.vc.type).toBe('character varying(20)');
    expect(byName.tstz).toMatchObject({ type: 'timestamp with time zone', kind: 'timestamptz' });
    expect(byName.ia).toMatchObject({ type: 'integer[]', kind: 'array' });
    expect(byName.m).toMatchObject({ type: 'mood', kind: 'string' });
  });

  it('marks an unchanged TOASTed value as unchanged, never as NULL', async () => {
    const big = 'x'.repeat(100_000);
    await sql(`INSERT INTO toast_t VALUES (1, 'a', $1)`, [big]);
    await sql(`UPDATE toast_t SET small = 'b' WHERE id = 1`);
    await sql(`UPDATE toast_t SET big = NULL WHERE id = 1`);
    const [insert, update, nulled] = await messagesOf('toast_t', 3);
    expect(insert.after).toEqual({ id: 1, small: 'a', big });
    expect(update.op).toBe('u');
    expect(update.after).toEqual({ id: 1, small: 'b' });
    expect(update.after).not.toHaveProperty('big');
    expect(update.unchanged_toast).toEqual(['big']);
    expect(update.before).toBeNull(); // REPLICA IDENTITY DEFAULT and an unchanged key
    expect(nulled.after).toEqual({ id: 1, small: 'b', big: null });
    expect(nulled.unchanged_toast).toBeUndefined();
  });

  it('sends the whole old row with REPLICA IDENTITY FULL and only the key without', async () => {
    await sql(`INSERT INTO full_t VALUES (1, 'one', 'b')`);
    await sql(`UPDATE full_t SET v = 'uno' WHERE id = 1`);
    await sql(`DELETE FROM full_t WHERE id = 1`);
    const [, update, del] = await messagesOf('full_t', 3);
    expect(update.before).toEqual({ id: 1, v: 'one', big: 'b' });
    expect(update.after).toEqual({ id: 1, v: 'uno', big: 'b' });
    expect(del).toMatchObject({ op: 'd', key: { id: 1 }, before: { id: 1, v: 'uno', big: 'b' }, after: null });

    await sql(`INSERT INTO acct VALUES (7, 100)`);
    await sql(`DELETE FROM acct WHERE id = 7`);
    const acct = await messagesOf('acct', 2);
    expect(acct[1]).toMatchObject({ op: 'd', key: { id: 7 }, before: { id: 7 }, after: null });
  });

  it('handles a table without a primary key: no key, partition 0', async () => {
    await sql(`INSERT INTO nopk_t VALUES (1, 'a'), (1, 'a')`);
    await sql(`UPDATE nopk_t SET b = 'z' WHERE ctid = (SELECT min(ctid) FROM nopk_t)`);
    await sql(`DELETE FROM nopk_t`);
    const rows = await waitFor(async () => {
      const r = await harness.messages(topic('nopk_t'));
      return r.length >= 5 && r;
    }, 'nopk messages');
    expect(rows.map((r) => [r.partition, r.key, r.envelope.op])).toEqual([
      [0, null, 'c'],
      [0, null, 'c'],
      [0, null, 'u'],
      [0, null, 'd'],
      [0, null, 'd'],
    ]);
    expect(rows[2].envelope.before).toEqual({ a: 1, b: 'a' });
  });

  it('captures a transaction spanning tables atomically and in order', async () => {
    await sql(`BEGIN; INSERT INTO acct VALUES (1, 10); INSERT INTO ledger (acct, delta) VALUES (1, 10);
               UPDATE acct SET balance = 5 WHERE id = 1; INSERT INTO ledger (acct, delta) VALUES (1, -5); COMMIT;`);
    const acct = (await messagesOf('acct', 4)).filter((m) => m.key?.id === 1);
    const ledger = await messagesOf('ledger', 2);
    const all = [...acct, ...ledger].sort((a, b) => a.source.seq - b.source.seq);
    expect(new Set(all.map((m) => m.source.txId)).size).toBe(1);
    expect(all.map((m) => [m.source.table, m.op])).toEqual([
      ['acct', 'c'],
      ['ledger', 'c'],
      ['acct', 'u'],
      ['ledger', 'c'],
    ]);
    expect(all.map((m) => m.source.seq)).toEqual([0, 1, 2, 3]);
  });

  it('keeps per-key order within a partition, and moves a row whose key changes', async () => {
    for (let v = 1; v <= 20; v++) await sql(`INSERT INTO acct VALUES (100, $1) ON CONFLICT (id) DO UPDATE SET balance = $1`, [v]);
    await sql(`UPDATE acct SET id = 101 WHERE id = 100`);
    const rows = await waitFor(async () => {
      const r = (await harness.messages(topic('acct'))).filter((m) => [100, 101].includes(m.envelope.key?.id as number));
      return r.length >= 22 && r;
    }, 'acct 100 history');
    const of100 = rows.filter((m) => m.envelope.key?.id === 100);
    expect(new Set(of100.map((m) => m.partition)).size).toBe(1);
    expect(of100.map((m) => m.envelope.after?.balance ?? 'deleted')).toEqual([
      ...Array.from({ length: 20 }, (_, i) => i + 1),
      'deleted',
    ]);
    expect(of100.map((m) => m.offset)).toEqual([...of100.map((m) => m.offset)].sort((a, b) => a - b));
    const moved = rows.filter((m) => m.envelope.key?.id === 101);
    expect(moved.map((m) => [m.envelope.op, m.envelope.after])).toEqual([['c', { id: 101, balance: 20 }]]);
  });

  it('sends a truncate to every partition of the topic', async () => {
    await sql(`INSERT INTO ledger (acct, delta) VALUES (2, 1)`);
    await sql(`TRUNCATE ledger`);
    const rows = await waitFor(async () => {
      const r = (await harness.messages(topic('ledger'))).filter((m) => m.envelope.op === 't');
      return r.length >= 4 && r;
    }, 'truncate on every partition');
    expect(rows.map((r) => r.partition).sort()).toEqual([0, 1, 2, 3]);
    expect(rows.every((r) => r.key === null && r.envelope.before === null && r.envelope.after === null)).toBe(true);
  });
});

function cmpLsn(a: string, b: string): number {
  const n = (s: string) => {
    const [hi, lo] = s.split('/');
    return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
  };
  const d = n(a) - n(b);
  return d === 0n ? 0 : d < 0n ? -1 : 1;
}
