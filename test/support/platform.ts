import { Pool } from 'pg';
import { createDataSource, runMigrations } from '@tributary/store';
import type { AppendRecord } from '@tributary/topic-log';
import { TopicLog, TopicRepository } from '@tributary/topic-log';
import type { TestCluster } from './pg-cluster';

/** A migrated platform database on a test cluster, with helpers to fill topics directly. */
export class TestPlatform {
  private constructor(
    readonly url: string,
    readonly pool: Pool,
  ) {}

  static async create(cluster: TestCluster, database: string): Promise<TestPlatform> {
    const url = await cluster.createDatabase(database);
    const ds = createDataSource(url);
    await ds.initialize();
    await runMigrations(ds);
    await ds.destroy();
    const pool = new Pool({ connectionString: url, max: 8 });
    // Tests stop clusters under live pools; an idle client's lost connection must not crash jest.
    pool.on('error', () => undefined);
    return new TestPlatform(url, pool);
  }

  async createTopic(
    name: string,
    partitions: number,
    retentionMs: number | null = 604_800_000,
    retentionBytes: number | null = null,
  ): Promise<void> {
    const c = await this.pool.connect();
    try {
      await TopicRepository.ensure(c, name, { partitions, retentionMs: retentionMs ?? 0, retentionBytes });
      if (retentionMs === null) await c.query('UPDATE tributary.topics SET retention_ms = NULL WHERE name = $1', [name]);
    } finally {
      c.release();
    }
  }

  /**
   * Appends `count` messages keyed `k<i % keys>`, partitioned as capture would, in one transaction of
   * appends of `perAppend` messages (each append stores one record batch per partition it touches).
   */
  async produce(topic: string, partitions: number, count: number, keys = count, from = 0, perAppend = 5_000): Promise<void> {
    const { partitionForKey } = await import('@tributary/topic-log');
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      for (let start = 0; start < count; start += perAppend) {
        const records: AppendRecord[] = [];
        for (let i = from + start; i < from + Math.min(count, start + perAppend); i++) {
          const key = `{"k":${i % keys}}`;
          records.push({
            topic,
            partition: partitionForKey(key, partitions),
            key,
            envelope: `{"id":"m${i}","op":"c","key":${key},"after":{"k":${i % keys},"seq":${i}}}`,
            sourceLsn: null,
            txId: null,
            commitTimeMs: null,
          });
        }
        await TopicLog.append(c, records);
      }
      await c.query('COMMIT');
    } finally {
      c.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
