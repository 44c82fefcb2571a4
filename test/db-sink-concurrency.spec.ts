import type { ConsumedMessage } from '@tributary/sink-contract';
import { DatabaseSink, MysqlDialect, PostgresDialect, type TargetDialect } from '@tributary/db-sink';
import { TableSchemaRepository, type ColumnSchema } from '@tributary/schema-registry';
import { createMariadbDatabase, mariadbAvailable, mariadbExpected, mariadbQuery } from './support/mariadb';
import { TestCluster } from './support/pg-cluster';
import { TestPlatform } from './support/platform';

const PARTITIONS = 4;
const TOPIC = 'src.public.items';
const ID: ColumnSchema = { name: 'id', type: 'integer', kind: 'number' };
const NAME: ColumnSchema = { name: 'name', type: 'text', kind: 'string' };
const SIZE: ColumnSchema = { name: 'size', type: 'numeric(8,2)', kind: 'exact' };

/**
 * Partition `partition`'s messages `from`..`from+count-1` (offsets = positions), each an insert of its
 * own row (ids never shared between partitions), optionally with the newer `size` column.
 */
function batch(partition: number, from: number, count: number, withSize: boolean): ConsumedMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const id = (from + i) * PARTITIONS + partition;
    const after = { id, name: `item ${id}`, ...(withSize ? { size: `${id}.50` } : {}) };
    const envelope = JSON.stringify({
      op: 'c',
      key: { id },
      before: null,
      after,
      source: { name: 'src', schema: 'public', table: 'items' },
    });
    return { topic: TOPIC, partition, offset: BigInt(from + i), key: JSON.stringify({ id }), envelope, appendedAt: new Date() };
  });
}

/**
 * A DatabaseSink takes deliver calls for different partitions at once (its `concurrency`): each runs in
 * a target session of its own, the first batches race to create the target table and later ones to add
 * a column, and every row and every partition's offset arrives exactly once.
 */
describe('database sink with concurrent deliveries', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let schemas: TableSchemaRepository;

  beforeAll(async () => {
    cluster = await TestCluster.start(15);
    platform = await TestPlatform.create(cluster, 'platform');
    await cluster.createDatabase('target');
    schemas = new TableSchemaRepository(platform.pool);
  });

  afterAll(async () => {
    await platform?.pool.end();
    await cluster?.stop();
  });

  const recordSchema = async (columns: ColumnSchema[]) => {
    const client = await platform.pool.connect();
    try {
      await TableSchemaRepository.save(client, {
        source: 'src',
        schema: 'public',
        table: 'items',
        topic: TOPIC,
        columns,
        primaryKey: ['id'],
      });
    } finally {
      client.release();
    }
  };

  /** Rounds of one batch per partition, delivered all at once; returns how many sessions were opened. */
  async function deliverConcurrently(connect: (signal?: AbortSignal) => Promise<TargetDialect>, kind: 'postgres' | 'mysql') {
    await recordSchema([ID, NAME]);
    let sessions = 0;
    const sink = new DatabaseSink(
      async (signal) => {
        sessions++;
        return connect(signal);
      },
      schemas,
      { group: `concurrent-${kind}`, autoCreate: true, addColumns: true },
      kind,
    );
    expect(sink.concurrency).toBe(4);
    const round = (from: number, withSize: boolean) =>
      Promise.all(Array.from({ length: PARTITIONS }, (_, p) => sink.deliver(batch(p, from, 50, withSize))));
    try {
      await round(0, false);
      await round(50, false);
      await recordSchema([ID, NAME, SIZE]); // the source table gained a column
      await round(100, true);
      // A redelivered round (a new owner after a rebalance) changes nothing.
      await round(100, true);
      for (let p = 0; p < PARTITIONS; p++) {
        expect(await sink.storedPosition(TOPIC, p)).toEqual({ nextOffset: 150n, topicIncarnation: null });
      }
    } finally {
      await sink.close();
    }
    return sessions;
  }

  it('applies partitions at once in a Postgres target, one session each', async () => {
    const sessions = await deliverConcurrently(() => PostgresDialect.connect(cluster.url('target'), 'public'), 'postgres');
    expect(sessions).toBe(PARTITIONS);
    const [counts] = await cluster.query<{ rows: string; sized: string; ids: string }>(
      'target',
      `SELECT count(*) AS rows, count(size) AS sized, count(DISTINCT id) AS ids FROM items`,
    );
    expect(counts).toEqual({ rows: String(150 * PARTITIONS), sized: String(50 * PARTITIONS), ids: String(150 * PARTITIONS) });
    const [one] = await cluster.query<{ size: string }>('target', `SELECT size::text FROM items WHERE id = 401`);
    expect(one.size).toBe('401.50');
  });

  (mariadbExpected() ? it : it.skip)('applies partitions at once in a MariaDB target, one session each', async () => {
    if (!(await mariadbAvailable())) throw new Error('MariaDB is expected here but does not answer');
    const url = await createMariadbDatabase(`tributary_concurrent_${process.pid}`);
    const sessions = await deliverConcurrently(() => MysqlDialect.connect(url), 'mysql');
    expect(sessions).toBe(PARTITIONS);
    const [counts] = await mariadbQuery<{ n: string; sized: string }>(
      url,
      'SELECT count(*) AS n, count(size) AS sized FROM items',
    );
    expect(counts).toEqual({ n: String(150 * PARTITIONS), sized: String(50 * PARTITIONS) });
  });
});
