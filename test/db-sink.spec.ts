import fc from 'fast-check';
import type { Client } from 'pg';
import { createMariadbDatabase, mariadbAvailable, mariadbQuery } from './support/mariadb';
import { SinkBed } from './support/sink-bed';
import { sinkGroup } from './support/sink-groups';

const TABLES = ['public.items', 'public.pairs', 'public.docs'];

const group = (name: string) =>
  sinkGroup(name, ['src.public.*'], {
    sessionTimeoutMs: 3_000,
    batchSize: 300,
    retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 200 },
  });

type Op =
  | { kind: 'insert'; id: number; qty: number; name: string; price: string; flag: boolean; tags: string[] }
  | { kind: 'update'; id: number; qty: number; name: string }
  | { kind: 'delete'; id: number }
  | { kind: 'rekey'; id: number; to: number }
  | { kind: 'pair'; a: number; b: string; v: number }
  | { kind: 'unpair'; a: number; b: string }
  | { kind: 'doc'; id: number; body: string }
  | { kind: 'touchdoc'; id: number }
  | { kind: 'truncate' };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 25,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      id: fc.integer({ min: 1, max: 60 }),
      qty: fc.integer({ min: -5, max: 1e6 }),
      name: fc.string({ maxLength: 12 }),
      price: fc.integer({ min: 0, max: 1e8 }).map((c) => (c / 100).toFixed(2)),
      flag: fc.boolean(),
      tags: fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
    }),
  },
  {
    weight: 25,
    arbitrary: fc.record({
      kind: fc.constant('update' as const),
      id: fc.integer({ min: 1, max: 60 }),
      qty: fc.integer({ min: -5, max: 1e6 }),
      name: fc.string({ maxLength: 12 }),
    }),
  },
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('delete' as const), id: fc.integer({ min: 1, max: 60 }) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('rekey' as const),
      id: fc.integer({ min: 1, max: 60 }),
      to: fc.integer({ min: 61, max: 200 }),
    }),
  },
  {
    weight: 15,
    arbitrary: fc.record({
      kind: fc.constant('pair' as const),
      a: fc.integer({ min: 1, max: 5 }),
      b: fc.constantFrom('x', 'y', 'z'),
      v: fc.integer(),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('unpair' as const),
      a: fc.integer({ min: 1, max: 5 }),
      b: fc.constantFrom('x', 'y', 'z'),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('doc' as const),
      id: fc.integer({ min: 1, max: 10 }),
      body: fc.string({ minLength: 1, maxLength: 20 }).map((s) => s.repeat(500)),
    }),
  },
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('touchdoc' as const), id: fc.integer({ min: 1, max: 10 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'truncate' as const }) },
);

async function applyOps(client: Client, ops: Op[]): Promise<void> {
  for (let i = 0; i < ops.length; i += 7) {
    await client.query('BEGIN');
    for (const o of ops.slice(i, i + 7)) {
      switch (o.kind) {
        case 'insert':
          await client.query(
            `INSERT INTO items (id, name, qty, price, flag, tags, meta, seen, big, data) VALUES ($1, $2, $3, $4, $5, $6, $7, now(), $8, $9)
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, qty = EXCLUDED.qty, version = items.version + 1`,
            [
              o.id,
              o.name,
              o.qty,
              o.price,
              o.flag,
              o.tags,
              JSON.stringify({ n: o.qty, tags: o.tags }),
              `${o.id}9223372036854775`,
              Buffer.from(o.name),
            ],
          );
          break;
        case 'update':
          await client.query('UPDATE items SET name = $2, qty = $3, version = version + 1 WHERE id = $1', [o.id, o.name, o.qty]);
          break;
        case 'delete':
          await client.query('DELETE FROM items WHERE id = $1', [o.id]);
          break;
        case 'rekey':
          await client.query(
            'UPDATE items SET id = $2, version = version + 1 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM items WHERE id = $2)',
            [o.id, o.to],
          );
          break;
        case 'pair':
          await client.query('INSERT INTO pairs VALUES ($1, $2, $3) ON CONFLICT (a, b) DO UPDATE SET v = EXCLUDED.v', [
            o.a,
            o.b,
            o.v,
          ]);
          break;
        case 'unpair':
          await client.query('DELETE FROM pairs WHERE a = $1 AND b = $2', [o.a, o.b]);
          break;
        case 'doc':
          await client.query(
            'INSERT INTO docs VALUES ($1, $2, 0) ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, hits = docs.hits + 1',
            [o.id, o.body],
          );
          break;
        case 'touchdoc':
          await client.query('UPDATE docs SET hits = hits + 1 WHERE id = $1', [o.id]); // body unchanged: TOASTed, not sent
          break;
        case 'truncate':
          await client.query('TRUNCATE pairs');
          break;
      }
    }
    await client.query('COMMIT');
  }
}

describe('database sinks keep targets equal to the source', () => {
  let bed: SinkBed;
  let mysqlUrl: string | undefined;

  beforeAll(async () => {
    bed = await SinkBed.start({
      tables: TABLES,
      partitions: 3,
      statementTimeoutMs: 60_000,
      prepare: async (cluster) => {
        const sql = (text: string) => cluster.query('src', text);
        await sql(`CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int, price numeric(12,2), flag bool, tags text[], meta jsonb,
                 seen timestamptz, big bigint, data bytea, version int NOT NULL DEFAULT 1)`);
        await sql(`CREATE TABLE pairs (a int, b text, v int, PRIMARY KEY (a, b))`);
        await sql(`CREATE TABLE docs (id int PRIMARY KEY, body text, hits int)`);
        await sql(`ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL`);
      },
    });
    await bed.groups.start(group('to-pg'), bed.postgresSink('to-pg'));
    if (await mariadbAvailable()) {
      mysqlUrl = await createMariadbDatabase(`tributary_sink_${process.pid}`);
      await bed.groups.start(group('to-mysql'), bed.mysqlSink(mysqlUrl, 'to-mysql'));
    }
  });

  afterAll(async () => {
    await bed?.stop();
  });

  const caughtUp = () => bed.caughtUp(mysqlUrl ? ['to-pg', 'to-mysql'] : ['to-pg']);

  const sourceRows = () =>
    Promise.all([
      bed.cluster.query(
        'src',
        `SELECT id, name, qty, price::text, flag, tags, meta, to_char(seen AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS seen, big::text, encode(data, 'hex') AS data, version FROM items ORDER BY id`,
      ),
      bed.cluster.query('src', 'SELECT a, b, v FROM pairs ORDER BY a, b'),
      bed.cluster.query('src', 'SELECT id, md5(body) AS body, hits FROM docs ORDER BY id'),
    ]);

  it('applies a randomised workload exactly (Postgres and MariaDB targets)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 150 }), async (ops) => {
        await applyOps(bed.source, ops);
        await caughtUp();
        const [items, pairs, docs] = await sourceRows();
        // A table the workload never touched has no target table yet (auto-create makes it on first sight).
        const pgRows = async (table: string, sql: string) =>
          (await bed.cluster.query('target', 'SELECT to_regclass($1) IS NOT NULL AS ok', [table]))[0].ok
            ? bed.cluster.query('target', sql)
            : [];
        const myRows = async (table: string, sql: string) =>
          (await mariadbQuery(mysqlUrl as string, `SHOW TABLES LIKE '${table}'`)).length
            ? mariadbQuery<Record<string, unknown>>(mysqlUrl as string, sql)
            : [];
        const pg = await Promise.all([
          pgRows(
            'items',
            `SELECT id, name, qty, price::text, flag, tags, meta, to_char(seen AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS seen, big::text, encode(data, 'hex') AS data, version FROM items ORDER BY id`,
          ),
          pgRows('pairs', 'SELECT a, b, v FROM pairs ORDER BY a, b'),
          pgRows('docs', 'SELECT id, md5(body) AS body, hits FROM docs ORDER BY id'),
        ]);
        expect(pg).toEqual([items, pairs, docs]);
        if (!mysqlUrl) return;
        const my = await Promise.all([
          myRows(
            'items',
            `SELECT id, name, qty, price, flag, tags, meta, seen, big, hex(data) AS data, version FROM items ORDER BY id`,
          ),
          myRows('pairs', 'SELECT a, b, v FROM pairs ORDER BY a, b'),
          myRows('docs', 'SELECT id, md5(body) AS body, hits FROM docs ORDER BY id'),
        ]);
        const expectedItems = items.map((r) => ({
          ...r,
          flag: r.flag === null ? null : r.flag ? 1 : 0,
          tags: r.tags,
          meta: r.meta,
          data: String(r.data).toUpperCase(),
        }));
        const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
        const gotItems = my[0].map((r) => ({ ...r, tags: json(r.tags), meta: json(r.meta) }));
        expect(gotItems).toEqual(expectedItems);
        expect(my[1]).toEqual(pairs);
        expect(my[2]).toEqual(docs);
      }),
      // The databases keep their state from run to run, so a shrunk case would not replay the failure:
      // report the first failing workload as it is, rather than shrinking until jest's timeout.
      { numRuns: Number(process.env.DB_SINK_RUNS ?? 4), endOnFailure: true },
    );
  });
});
