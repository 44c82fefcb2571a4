import { Logger } from '@nestjs/common';
import { Pool } from 'pg';
import { createDataSource, runMigrations } from '@tributary/store';
import { TopicRepository } from '@tributary/topic-log';
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
