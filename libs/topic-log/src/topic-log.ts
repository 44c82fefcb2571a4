import type { ClientBase, Pool } from 'pg';
import { formatLsn } from './lsn';
import type { AppendRecord, StoredMessage } from './topic-log.types';

/** NOTIFY channel on which every append announces its topic (payload: the topic name). */
export const MESSAGES_CHANNEL = 'tributary_messages';

/**
 * The partitioned, append-only message log kept in Postgres.
 *
 * `append` runs inside the caller's transaction: it locks the head row of every partition it touches
 * (in a fixed order, so concurrent appenders cannot deadlock), hands out the next gap-free offsets and
 * inserts all rows with one statement. The head locks are held until the caller commits, so offsets
 * become visible in order.
 */
export class TopicLog {
  /** Appends in the order given; returns the offset assigned to each record. */
  static async append(client: ClientBase, records: AppendRecord[]): Promise<bigint[]> {
    if (records.length === 0) return [];
    const partitionKeys = new Map<string, { topic: string; partition: number }>();
    for (const r of records) partitionKeys.set(`${r.partition}\u0000${r.topic}`, { topic: r.topic, partition: r.partition });
    const heads = [...partitionKeys.values()];

    const locked = await client.query<{ topic: string; partition: number; next_offset: string }>(
      // pg_notify is transactional: readers listening on MESSAGES_CHANNEL wake when this commits.
      `SELECT topic, partition, next_offset, pg_notify('${MESSAGES_CHANNEL}', topic)
         FROM tributary.topic_partitions
        WHERE (topic, partition) IN (SELECT * FROM unnest($1::text[], $2::int[]))
        ORDER BY topic, partition
          FOR UPDATE`,
      [heads.map((h) => h.topic), heads.map((h) => h.partition)],
    );
    const next = new Map<string, bigint>();
    for (const row of locked.rows) next.set(`${row.partition}\u0000${row.topic}`, BigInt(row.next_offset));
    if (next.size !== heads.length) {
      const missing = heads.find((h) => !next.has(`${h.partition}\u0000${h.topic}`));
      throw new Error(`topic "${missing?.topic}" has no partition ${missing?.partition}`);
    }

    const offsets = records.map((r) => {
      const k = `${r.partition}\u0000${r.topic}`;
      const offset = next.get(k) as bigint;
      next.set(k, offset + 1n);
      return offset;
    });
    const newHeads = heads.map((h) => next.get(`${h.partition}\u0000${h.topic}`) as bigint);

    // The envelopes travel as one JSON array, built by joining their texts: already JSON, they need no
    // escaping, unlike the elements of a text[] literal (quoting every '"' of every envelope made that the
    // slowest part of an append: about 3x slower, and a lot of garbage). A `json` array's elements come
    // back as their exact text, so the stored envelopes are byte for byte what the producer rendered. The
    // FULL JOIN turns a text that is not exactly one JSON value (so the counts differ) into a NOT NULL error.
    await client.query(
      `WITH inserted AS (
         INSERT INTO tributary.messages (topic, partition, "offset", key, envelope, source_lsn, tx_id, commit_time, size)
         SELECT m.topic, m.partition, m."offset", m.key, e.envelope, m.source_lsn, m.tx_id, m.commit_time, octet_length(e.envelope::text)
           FROM unnest($4::text[], $5::int[], $6::bigint[], $7::text[], $9::bigint[], $10::bigint[], $11::timestamptz[])
                WITH ORDINALITY AS m(topic, partition, "offset", key, source_lsn, tx_id, commit_time, n)
           FULL JOIN json_array_elements($8::json) WITH ORDINALITY AS e(envelope, n) USING (n)
         RETURNING topic, partition, size
       ), sizes AS (
         SELECT topic, partition, sum(size) AS bytes FROM inserted GROUP BY topic, partition
       )
       UPDATE tributary.topic_partitions tp
          SET next_offset = h.next_offset, bytes = tp.bytes + s.bytes
         FROM unnest($1::text[], $2::int[], $3::bigint[]) AS h(topic, partition, next_offset)
         JOIN sizes s USING (topic, partition)
        WHERE tp.topic = h.topic AND tp.partition = h.partition`,
      [
        heads.map((h) => h.topic),
        heads.map((h) => h.partition),
        newHeads.map(String),
        records.map((r) => r.topic),
        records.map((r) => r.partition),
        offsets.map(String),
        records.map((r) => r.key),
        `[${records.map((r) => r.envelope).join(',')}]`,
        records.map((r) => (r.sourceLsn === null ? null : String(r.sourceLsn))),
        records.map((r) => r.txId),
        records.map((r) => r.commitTime),
      ],
    );
    return offsets;
  }

  constructor(private readonly pool: Pool) {}

  /** Messages of one partition from `fromOffset` on, in offset order. */
  async read(topic: string, partition: number, fromOffset: bigint, limit: number): Promise<StoredMessage[]> {
    const { rows } = await this.pool.query(
      `SELECT topic, partition, "offset", key, envelope::text AS envelope, source_lsn, tx_id, commit_time, appended_at
         FROM tributary.messages
        WHERE topic = $1 AND partition = $2 AND "offset" >= $3
        ORDER BY "offset"
        LIMIT $4`,
      [topic, partition, String(fromOffset), limit],
    );
    return rows.map(toStoredMessage);
  }

  /**
   * The first offset of a partition appended at or after `time`; the log end offset when none was. A
   * binary search over the gap-free retained offsets (appends to a partition are serialised, so append
   * times rise with offsets): some primary-key lookups instead of a scan of the partition.
   */
  async offsetAt(topic: string, partition: number, time: Date): Promise<bigint> {
    const bounds = (await this.offsets(topic)).find((o) => o.partition === partition);
    if (!bounds) return 0n;
    let [lo, hi] = [BigInt(bounds.earliest), BigInt(bounds.end)];
    while (lo < hi) {
      const mid = lo + (hi - lo) / 2n;
      const { rows } = await this.pool.query<{ at: Date }>(
        `SELECT appended_at AS at FROM tributary.messages WHERE topic = $1 AND partition = $2 AND "offset" = $3`,
        [topic, partition, String(mid)],
      );
      // Gone since the bounds were read (retention): everything before it is gone too.
      if (!rows.length || rows[0].at < time) lo = mid + 1n;
      else hi = mid;
    }
    return lo;
  }

  /** Per partition: the first retained offset and the log end offset (next offset to be written). */
  async offsets(topic: string): Promise<{ partition: number; earliest: string; end: string }[]> {
    const { rows } = await this.pool.query(
      `SELECT tp.partition,
              COALESCE((SELECT min("offset") FROM tributary.messages m
                         WHERE m.topic = tp.topic AND m.partition = tp.partition), tp.next_offset) AS earliest,
              tp.next_offset AS "end"
         FROM tributary.topic_partitions tp
        WHERE tp.topic = $1
        ORDER BY tp.partition`,
      [topic],
    );
    return rows.map((r) => ({ partition: r.partition, earliest: String(r.earliest), end: String(r.end) }));
  }
}

function toStoredMessage(row: Record<string, unknown>): StoredMessage {
  return {
    topic: row.topic as string,
    partition: row.partition as number,
    offset: String(row.offset),
    key: row.key as string | null,
    envelope: row.envelope as string,
    sourceLsn: row.source_lsn === null ? null : formatLsn(BigInt(row.source_lsn as string)),
    txId: row.tx_id === null ? null : String(row.tx_id),
    commitTime: row.commit_time ? (row.commit_time as Date).toISOString() : null,
    appendedAt: (row.appended_at as Date).toISOString(),
  };
}
