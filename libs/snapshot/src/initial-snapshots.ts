import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import type { SourceConfig } from '@tributary/config';
import { connectSource, quoteIdent } from '@tributary/pg-source';
import { BackfillRepository } from './backfill.repository';
import { DEFAULT_CHUNK_SIZE } from './snapshotter';

export interface QueuedSnapshot {
  id: number;
  schema: string;
  table: string;
}

/**
 * Queues the initial snapshot of newly captured tables (unless the source says `snapshot: never`).
 * Called by the source preparation inside the source transaction that publishes them, before it commits.
 */
export async function queueInitialSnapshots(
  pool: Pool,
  source: SourceConfig,
  tables: { schema: string; table: string }[],
): Promise<QueuedSnapshot[]> {
  if ((source.snapshot ?? 'initial') === 'never') return [];
  return BackfillRepository.createInitial(pool, source.name, tables, source.snapshotChunkSize ?? DEFAULT_CHUNK_SIZE);
}

/**
 * Called once the tables are published and the slot exists: a table that is empty now needs no
 * snapshot. Every change committed after the publication (and the slot) is streamed, so rows that
 * existed before were deleted by streamed changes, and every row there will be arrives as a change.
 * Skipping these keeps a freshly created table from getting `r` copies of rows inserted just after the
 * capture started.
 */
export async function skipEmptyInitialSnapshots(pool: Pool, source: SourceConfig, queued: QueuedSnapshot[]): Promise<number> {
  if (queued.length === 0) return 0;
  const repo = new BackfillRepository(pool);
  const client = await connectSource(source, `tributary-snapshot-check:${source.name}`);
  let skipped = 0;
  try {
    for (const q of queued) {
      try {
        const { rows } = await client.query<{ any: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM ${quoteIdent(q.schema)}.${quoteIdent(q.table)}) AS any`,
        );
        if (rows[0].any) continue;
      } catch {
        continue; // the snapshotter reports what is wrong with the table
      }
      await repo.finishEmpty(q.id);
      skipped++;
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  const left = queued.length - skipped;
  new Logger(`Snapshot ${source.name}`).log(
    `initial snapshot: ${left} newly captured table(s) to snapshot${skipped ? `, ${skipped} empty table(s) need none` : ''}`,
  );
  return skipped;
}
