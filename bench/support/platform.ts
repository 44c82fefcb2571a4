import { Logger } from '@nestjs/common';
import { type ClientBase, Pool } from 'pg';
import { createDataSource, runMigrations } from '@tributary/store';
import { BATCH_COLUMNS_WITH_SOURCE, type BatchMessage, TopicRepository, unpackBatches } from '@tributary/topic-log';
import { onCleanup } from './cleanup';

/** Only warnings and errors from the libraries run in the bench process (members log every lease). */
export function quietLibraries(): void {
  Logger.overrideLogger(['error', 'warn']);
}

/** Runs the platform migrations on `url` and returns a pool on it, ended at cleanup. */
export async function openPlatform(url: string, max = 10): Promise<Pool> {
  const ds = createDataSource(url);
  await ds.initialize();
  await runMigrations(ds);
  await ds.destroy();
  const pool = new Pool({ connectionString: url, max });
  pool.on('error', () => undefined); // an idle client losing its connection at cleanup must not crash the bench
  onCleanup('platform pool', () => pool.end());
  return pool;
}

export async function createTopic(pool: Pool, topic: string, partitions: number): Promise<void> {
  const client = await pool.connect();
  try {
    await TopicRepository.ensure(client, topic, { partitions, retentionMs: 7 * 24 * 3600 * 1000, retentionBytes: null });
  } finally {
    client.release();
  }
}

/** Every message of a topic in partition and offset order, as the platform's readers see them. */
export async function topicMessages(db: Pool | ClientBase, topic: string): Promise<BatchMessage[]> {
  const { rows } = await db.query(
    `SELECT ${BATCH_COLUMNS_WITH_SOURCE} FROM tributary.message_batches b WHERE b.topic = $1 ORDER BY b.partition, b.last_offset`,
    [topic],
  );
  return unpackBatches(rows, () => true);
}
