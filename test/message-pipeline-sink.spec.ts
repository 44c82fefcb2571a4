import { builtinTransformSchema } from '@tributary/config';
import { SinkBed } from './support/sink-bed';
import { sinkGroup } from './support/sink-groups';
import { waitFor } from './support/pg-cluster';

/**
 * A group's transform and route into a Postgres sink, on a real capture: a transform fanning each
 * change into two keeps every key's order and lands exactly once (all outputs of a message in the
 * target transaction of its offset, through a stop in the middle); a route splitting a table into two
 * target tables converges.
 */
describe('transforms and routes into a Postgres sink', () => {
  let bed: SinkBed;

  beforeAll(async () => {
    bed = await SinkBed.start({
      tables: ['public.orders', 'public.events'],
      partitions: 2,
      prepare: async (cluster) => {
        await cluster.query('src', 'CREATE TABLE orders (id int PRIMARY KEY, qty int NOT NULL, note text)');
        // Keyless: every insert is a new target row, so a duplicate or a loss shows in the count.
        await cluster.query('src', 'CREATE TABLE events (n int NOT NULL, body text)');
        await cluster.query('src', 'ALTER TABLE events REPLICA IDENTITY FULL');
      },
    });
  }, 180_000);

  afterAll(async () => {
    await bed?.stop();
  });

  const target = <T extends Record<string, unknown>>(sql: string) => bed.cluster.query<T>('target', sql);

  it('fans each change into two target tables, in key order, exactly once through a stop', async () => {
    // Every change also goes to a copy table; orders keep only even quantities in the copy's note.
    const transform = `
      type M = { value: { op: string; after: Record<string, unknown> | null; source: { table: string } } };
      export default function (m: M): M[] {
        const copy = { ...m, route: m.value.source.table + '_copy' } as M & { route: string };
        return [m, copy];
      }`;
    const config = sinkGroup('fanout', ['src.public.orders', 'src.public.events'], { transform, batchSize: 50 });
    const first = await bed.groups.start(config, bed.postgresSink('fanout'));
    for (let round = 0; round < 20; round++) {
      await bed.source.query(
        `INSERT INTO orders SELECT g, $1::int, 'r' || $1::text FROM generate_series(1, 30) g
           ON CONFLICT (id) DO UPDATE SET qty = excluded.qty, note = excluded.note`,
        [round],
      );
      await bed.source.query('INSERT INTO events SELECT $1::int * 100 + g, $1::text FROM generate_series(1, 10) g', [round]);
      if (round === 8) await first.stop(); // mid-stream: what it had not committed is delivered again
      if (round === 8) await bed.groups.start(config, bed.postgresSink('fanout'));
    }
    await bed.source.query('DELETE FROM orders WHERE id > 25');
    await bed.caughtUp(['fanout']);
    for (const table of ['orders', 'orders_copy']) {
      const rows = await target<{ id: number; qty: number; note: string }>(`SELECT id, qty, note FROM ${table} ORDER BY id`);
      expect(rows).toEqual(Array.from({ length: 25 }, (_, i) => ({ id: i + 1, qty: 19, note: 'r19' })));
    }
    for (const table of ['events', 'events_copy']) {
      const [counts] = await target<{ n: string; distinct: string }>(
        `SELECT count(*) AS n, count(DISTINCT n) AS distinct FROM ${table}`,
      );
      expect(counts).toEqual({ n: '200', distinct: '200' });
    }
  });

  it('a route function splitting a table into two target tables converges', async () => {
    const route = {
      function:
        'export default (m) => { const row = m.value.after ?? m.value.before; return row.id % 2 ? "public.odd_orders" : "public.even_orders"; }',
    };
    await bed.groups.start(sinkGroup('split', ['src.public.orders'], { route }), bed.postgresSink('split'));
    await bed.source.query('UPDATE orders SET qty = qty + id WHERE id <= 10');
    await bed.source.query('DELETE FROM orders WHERE id IN (1, 2)');
    await bed.caughtUp(['split']);
    const source = await bed.cluster.query<{ id: number; qty: number }>('src', 'SELECT id, qty FROM orders ORDER BY id');
    await waitFor(async () => (await target('SELECT 1 FROM even_orders')).length > 0, 'the even target', 30_000);
    const odd = await target<{ id: number; qty: number }>('SELECT id, qty FROM odd_orders ORDER BY id');
    const even = await target<{ id: number; qty: number }>('SELECT id, qty FROM even_orders ORDER BY id');
    expect(odd).toEqual(source.filter((r) => r.id % 2 === 1));
    expect(even).toEqual(source.filter((r) => r.id % 2 === 0));
  });

  it('built-ins shape the target table: a renamed column under its new name, a masked one as text, the addSource column added', async () => {
    const transforms = builtinTransformSchema.array().parse([
      { type: 'mask', columns: ['qty'] },
      { type: 'rename', columns: { note: 'label' } },
      { type: 'addSource', fields: ['op'] },
    ]);
    await bed.groups.start(
      sinkGroup('shaped', ['src.public.orders'], {
        transforms: transforms,
        route: 'shaped_{table}',
      }),
      // The worker's sink kind hands the sink the group's transforms; built here, the test does.
      bed.postgresSink('shaped', { transforms: transforms }),
    );
    await bed.caughtUp(['shaped']);
    const rows = await target<{ id: number; qty: string; label: string }>(
      'SELECT id, qty, label FROM shaped_orders ORDER BY id LIMIT 2',
    );
    expect(rows).toEqual([
      { id: 3, qty: '****', label: 'r19' },
      { id: 4, qty: '****', label: 'r19' },
    ]);
    const columns = await target<{ column_name: string; data_type: string }>(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'shaped_orders' ORDER BY ordinal_position",
    );
    expect(columns).toEqual([
      { column_name: 'id', data_type: 'integer' },
      { column_name: 'qty', data_type: 'text' },
      { column_name: 'label', data_type: 'text' },
      { column_name: '__op', data_type: 'text' },
    ]);
  });
});
