import { Logger } from '@nestjs/common';
import type { Client, PoolClient } from 'pg';
import type { SourceConfig, TributaryConfig } from '@tributary/config';
import { connectSource, formatLsn, parseLsn } from '@tributary/pg-source';
import { BackfillRepository, DEFAULT_CHUNK_SIZE } from '@tributary/snapshot';
import type { PlatformDatabase } from '@tributary/store';
import { type AppendRecord, TopicLog, TopicRepository } from '@tributary/topic-log';
import { SourceConfigurationError } from './capture-errors';
import { CheckpointRepository } from './checkpoint.repository';
import { renderTableReset } from './envelope';
import { whileNoCaptureLeads } from './source-capture';
import { settingsOf, topicOf } from './source-topics';

/** A resync that cannot run now: a capture streams the source, or its slot is in use. */
export class ResyncRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResyncRefusedError';
  }
}

export interface ResyncResult {
  source: string;
  slot: string;
  /** Where the new slot starts: every change after it is streamed. */
  consistentLsn: string;
  /** Every published table, each reset in its topic and queued for a snapshot. */
  tables: string[];
  /** Pending or running backfills cancelled (their tables are snapshotted again anyway). */
  cancelledBackfills: number;
}

/**
 * Brings a source whose slot is lost back to a state where every sink ends equal to it. Holding the
 * source's leadership lock (so no capture streams or prepares meanwhile), it drops the slot and creates
 * it again, at a consistent point; then, in one platform transaction, it writes a truncate of every
 * published table into every partition of its topic (database sinks empty the table, docs/sinks.md),
 * moves the checkpoint to the new slot's start and queues a snapshot of every table (whatever the
 * source's `snapshot` setting). Capture streams from the new slot and snapshots the tables between
 * watermarks: rows deleted while the slot was lost are gone from the sinks, the others are reloaded.
 * If the platform transaction fails, the new slot is dropped again, and the source stays lost.
 */
export async function resyncSource(
  db: PlatformDatabase,
  config: TributaryConfig,
  source: SourceConfig,
  waitMs: number,
): Promise<ResyncResult> {
  let result: ResyncResult | undefined;
  const ran = await whileNoCaptureLeads(db, source.name, waitMs, async () => {
    const client = await connectSource(source, `tributary-resync:${source.name}`);
    try {
      result = await recreate(db, config, source, client);
    } finally {
      await client.end().catch(() => undefined);
    }
  });
  if (!ran || !result) {
    throw new ResyncRefusedError(
      `source "${source.name}": a capture kept streaming it for ${waitMs} ms; a resync is for a source whose slot is lost ` +
        '(state slot_lost), whose capture has let go of the slot',
    );
  }
  return result;
}

async function recreate(
  db: PlatformDatabase,
  config: TributaryConfig,
  source: SourceConfig,
  client: Client,
): Promise<ResyncResult> {
  const { rows: published } = await client.query<{ schema: string; table: string }>(
    'SELECT schemaname AS schema, tablename AS table FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2',
    [source.publication],
  );
  if (published.length === 0) {
    throw new SourceConfigurationError(
      `source "${source.name}": publication "${source.publication}" publishes no table, so there is nothing to resync`,
    );
  }
  const { rows: slots } = await client.query<{ active_pid: number | null }>(
    'SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1',
    [source.slot],
  );
  if (slots[0]?.active_pid) {
    throw new ResyncRefusedError(`source "${source.name}": slot "${source.slot}" is in use by pid ${slots[0].active_pid}`);
  }
  if (slots.length) await client.query('SELECT pg_drop_replication_slot($1)', [source.slot]);
  // A failover source's slot is a failover slot again (Postgres 17+: failover: true is refused before).
  const created = await client.query<{ lsn: string; db: string }>(
    source.failover
      ? `SELECT lsn::text AS lsn, current_database() AS db FROM pg_create_logical_replication_slot($1, 'pgoutput', false, false, true)`
      : `SELECT lsn::text AS lsn, current_database() AS db FROM pg_create_logical_replication_slot($1, 'pgoutput')`,
    [source.slot],
  );
  const lsn = parseLsn(created.rows[0].lsn);
  const logger = new Logger(`Source ${source.name}`);
  logger.warn(`resync: replication slot ${source.slot} created again at ${formatLsn(lsn)}`);
  const platform = await db.pool.connect();
  try {
    await platform.query('BEGIN');
    const cancelledBackfills = await BackfillRepository.cancelActive(platform, source.name);
    await appendResets(platform, config, source, created.rows[0].db, lsn, published);
    await CheckpointRepository.save(platform, source.name, lsn, 0, Date.now());
    await BackfillRepository.createInitial(platform, source.name, published, source.snapshotChunkSize ?? DEFAULT_CHUNK_SIZE);
    await platform.query('COMMIT');
    const tables = published.map((t) => `${t.schema}.${t.table}`);
    logger.warn(`resync: ${tables.length} table(s) reset in their topics and queued for a snapshot: ${tables.join(', ')}`);
    return { source: source.name, slot: source.slot, consistentLsn: formatLsn(lsn), tables, cancelledBackfills };
  } catch (error) {
    await platform.query('ROLLBACK').catch(() => undefined);
    // Without the resets and snapshots, streaming from the new slot would skip the lost changes silently.
    await client.query('SELECT pg_drop_replication_slot($1)', [source.slot]);
    throw error;
  } finally {
    platform.release();
  }
}

/** A truncate of each table into every partition of its topic, named by the new slot's start. */
async function appendResets(
  platform: PoolClient,
  config: TributaryConfig,
  source: SourceConfig,
  database: string,
  lsn: bigint,
  tables: { schema: string; table: string }[],
): Promise<void> {
  const records: AppendRecord[] = [];
  const now = Date.now();
  for (const [seq, t] of tables.entries()) {
    const topic = topicOf(source, t.schema, t.table);
    const partitions = await TopicRepository.ensure(platform, topic, settingsOf(config, topic));
    const ctx = { txId: 0, commitLsn: formatLsn(lsn), commitTimeMs: now, lsn: formatLsn(lsn), seq };
    const envelope = renderTableReset(source.name, database, t.schema, t.table, ctx);
    for (let partition = 0; partition < partitions; partition++) {
      records.push({ topic, partition, key: null, envelope, sourceLsn: lsn, txId: '0', commitTimeMs: now });
    }
  }
  await TopicLog.append(platform, records);
}
