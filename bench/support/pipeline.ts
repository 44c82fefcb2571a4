import type { ClientBase, Pool } from 'pg';

type Db = Pool | ClientBase;

/**
 * Messages of the topics matching `topicLike` (a LIKE pattern) that `group` has not committed yet,
 * partitions it never committed counted from offset 0.
 */
export async function groupLag(platform: Db, group: string, topicLike: string): Promise<number> {
  const { rows } = await platform.query(
    `SELECT coalesce(sum(tp.next_offset - coalesce(o.next_offset, 0)), 0)::bigint AS lag
       FROM tributary.topic_partitions tp
       LEFT JOIN tributary.group_offsets o ON o.group_name = $1 AND o.topic = tp.topic AND o.partition = tp.partition
      WHERE tp.topic LIKE $2`,
    [group, topicLike],
  );
  return Number(rows[0].lag);
}

/** The group's partitions that are not `ok` (blocked, failed...), with their detail. */
export async function troubledPartitions(platform: Db, group: string): Promise<string[]> {
  const { rows } = await platform.query(
    `SELECT topic, partition, status, status_detail FROM tributary.group_offsets
      WHERE group_name = $1 AND status <> 'ok' ORDER BY topic, partition`,
    [group],
  );
  return rows.map((r) => `${r.topic}/${r.partition} ${r.status}${r.status_detail ? `: ${r.status_detail}` : ''}`);
}

/** WAL the slot keeps on the source: bytes from its restart_lsn, and from its confirmed_flush_lsn, to the current LSN. */
export async function slotRetainedBytes(source: Db, slot: string): Promise<{ restart: number; confirmed: number }> {
  const { rows } = await source.query(
    `SELECT (pg_current_wal_lsn() - restart_lsn)::bigint AS restart, (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint AS confirmed
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  if (!rows.length) throw new Error(`no replication slot ${slot}`);
  return { restart: Number(rows[0].restart), confirmed: Number(rows[0].confirmed) };
}
