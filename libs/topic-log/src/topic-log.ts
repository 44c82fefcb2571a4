import type { ClientBase, Pool } from 'pg';
import { formatLsn } from '@tributary/pg-source';
import { BATCH_COLUMNS_WITH_SOURCE, type BatchMessage, unpackBatches } from './record-batch';
import type { RowBatchFormat } from './row-batch';
import type { AppendRecord, StoredMessage } from './topic-log-types';

/** NOTIFY channel on which every append announces its topic (payload: the topic name). */
export const MESSAGES_CHANNEL = 'tributary_messages';

/**
 * The incarnation of the topic named `topicName` (SQL text): its creation time in microseconds since the
 * epoch, as text. A topic deleted and re-created under its name has a later one, so whoever stored offsets
 * of the earlier topic can tell that they no longer apply.
 */
export function topicIncarnation(topicName: string): string {
  return `(SELECT (extract(epoch FROM ti.created_at) * 1000000)::bigint::text FROM tributary.topics ti WHERE ti.name = ${topicName})`;
}

/** The first retained offset of the partition `tp` (a topic_partitions row), or NULL when it is empty. */
export const EARLIEST_OFFSET = `(SELECT eb.base_offset FROM tributary.message_batches eb
   WHERE eb.topic = tp.topic AND eb.partition = tp.partition ORDER BY eb.last_offset LIMIT 1)`;

/**
 * The first offset of the partition `tp` appended at or after the timestamptz `time` (an SQL expression,
 * usually a parameter), or NULL when none was. Appends to a partition are serialised, so batches'
 * append times rise with their offsets.
 */
export function offsetAppendedSince(time: string): string {
  return `(SELECT sb.base_offset FROM tributary.message_batches sb
   WHERE sb.topic = tp.topic AND sb.partition = tp.partition AND sb.appended_at >= ${time}
   ORDER BY sb.last_offset LIMIT 1)`;
}

/**
 * The record batches of partition $2 of topic $1 that hold offsets from $3 up to (not including) $4, in
 * offset order, with the given columns (of `tributary.message_batches b`).
 */
export function batchesInRange(columns: string): string {
  return `SELECT ${columns} FROM tributary.message_batches b
   WHERE b.topic = $1 AND b.partition = $2 AND b.last_offset >= $3 AND b.base_offset < $4
   ORDER BY b.last_offset`;
}

/** Snapshot rows of one partition, to append with `TopicLog.appendRows`. */
export interface RowBatch {
  topic: string;
  partition: number;
  /** `count` lines (seq, a tab, the row's COPY text) joined by newlines, as UTF-8. */
  rows: Buffer;
  count: number;
  format: RowBatchFormat;
}

/** One partition's share of a `PreparedAppend`: its records' columns, already rendered as parameters. */
interface PreparedBatch {
  topic: string;
  partition: number;
  count: number;
  /** Where each record stands in the caller's list, to hand its offset back in that order. */
  indexes: number[];
  /** The envelopes as one JSON array's UTF-8 bytes: they are JSON already, so joining needs no escaping. */
  envelopes: Buffer;
  keys: string;
  sourceLsns: string;
  txIds: string;
  commitTimes: string;
}

/**
 * Records grouped by partition and rendered into the parameters of their batch rows, ready for
 * `TopicLog.appendPrepared`. Preparing as soon as a batch is complete lets the records (thousands of
 * envelope strings) die young, instead of surviving while an earlier append runs, which made the
 * garbage collector copy and promote them.
 */
export class PreparedAppend {
  readonly batches: PreparedBatch[] = [];
  readonly count: number;

  constructor(records: AppendRecord[]) {
    this.count = records.length;
    const grouped = new Map<string, { topic: string; partition: number; records: AppendRecord[]; indexes: number[] }>();
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const id = `${r.partition}\u0000${r.topic}`;
      let group = grouped.get(id);
      if (!group) grouped.set(id, (group = { topic: r.topic, partition: r.partition, records: [], indexes: [] }));
      group.records.push(r);
      group.indexes.push(i);
    }
    for (const { topic, partition, records: rs, indexes } of grouped.values()) {
      this.batches.push({
        topic,
        partition,
        count: rs.length,
        indexes,
        envelopes: jsonArrayBytes(rs),
        keys: JSON.stringify(rs.map((r) => r.key)),
        sourceLsns: numbers(rs.map((r) => r.sourceLsn)),
        txIds: numbers(rs.map((r) => r.txId)),
        commitTimes: numbers(rs.map((r) => r.commitTimeMs)),
      });
    }
  }
}

/**
 * The partitioned, append-only message log kept in Postgres, stored as record batches.
 *
 * `append` runs inside the caller's transaction: it locks the head row of every partition it touches
 * (in a fixed order, so concurrent appenders cannot deadlock), hands out the next gap-free offsets and
 * writes one batch row per partition. The head locks are held until the caller commits, so offsets
 * become visible in order.
 */
export class TopicLog {
  /** Appends in the order given; returns the offset assigned to each record. */
  static append(client: ClientBase, records: AppendRecord[]): Promise<bigint[]> {
    return TopicLog.appendPrepared(client, new PreparedAppend(records));
  }

  /** `append` of records prepared beforehand; returns the offset assigned to each, in their original order. */
  static async appendPrepared(client: ClientBase, prepared: PreparedAppend): Promise<bigint[]> {
    const { batches } = prepared;
    if (batches.length === 0) return [];
    const next = await lockHeads(client, batches);
    const offsets = new Array<bigint>(prepared.count);
    const values: string[] = [];
    const params: unknown[] = [];
    for (const b of batches) {
      const base = next(b);
      for (let i = 0; i < b.count; i++) offsets[b.indexes[i]] = base + BigInt(i);
      const p = params.length;
      // Each parameter is one plain value; a text[] of envelopes would need every '"' escaped. `bytes`
      // is the envelopes' bytes: the array's, less its brackets and commas (the server has them as bytes).
      values.push(`($${p + 1}, $${p + 2}::int, $${p + 3}::bigint, $${p + 4}::bigint, $${p + 5}::text, $${p + 6}::text,
                    NULL::text, NULL::json, $${p + 7}::bigint[], $${p + 8}::bigint[], $${p + 9}::bigint[], octet_length($${p + 5}::text) - ${b.count + 1})`);
      params.push(
        b.topic,
        b.partition,
        String(base),
        String(base + BigInt(b.count) - 1n),
        b.envelopes,
        b.keys,
        b.sourceLsns,
        b.txIds,
        b.commitTimes,
      );
    }
    await insertBatches(client, values, params);
    return offsets;
  }

  /**
   * Appends snapshot rows (see row-batch.ts), one batch row per given batch (several may share a
   * partition: their offsets follow in the order given), inside the caller's transaction as `append`
   * does. COPY text escapes newlines, so a row's line never holds one. The rows
   * go to the server as the bytes they are, with no string per row or per batch on the way.
   */
  static async appendRows(client: ClientBase, batches: RowBatch[]): Promise<void> {
    const list = batches.filter((b) => b.count > 0);
    if (list.length === 0) return;
    const next = await lockHeads(client, list);
    const values: string[] = [];
    const params: unknown[] = [];
    // A partition may get several batches (rows of different formats): each starts after the one before.
    const used = new Map<string, bigint>();
    for (const b of list) {
      const at = `${b.partition}\u0000${b.topic}`;
      const base = used.get(at) ?? next(b);
      used.set(at, base + BigInt(b.count));
      const p = params.length;
      values.push(`($${p + 1}, $${p + 2}::int, $${p + 3}::bigint, $${p + 4}::bigint, NULL::text, NULL::text,
                    $${p + 5}::text, $${p + 6}::json, NULL::bigint[], NULL::bigint[], NULL::bigint[], octet_length($${p + 5}::text))`);
      params.push(b.topic, b.partition, String(base), String(base + BigInt(b.count) - 1n), b.rows, JSON.stringify(b.format));
    }
    await insertBatches(client, values, params);
  }

  constructor(private readonly pool: Pool) {}

  /** Messages of one partition from `fromOffset` on, in offset order. */
  async read(topic: string, partition: number, fromOffset: bigint, limit: number): Promise<StoredMessage[]> {
    const end = fromOffset + BigInt(limit);
    const { rows } = await this.pool.query<Record<string, unknown>>(batchesInRange(BATCH_COLUMNS_WITH_SOURCE), [
      topic,
      partition,
      String(fromOffset),
      String(end),
    ]);
    return unpackBatches(rows, (offset) => offset >= fromOffset && offset < end).map(toStoredMessage);
  }

  /** The first offset of a partition appended at or after `time`; the log end offset when none was. */
  async offsetAt(topic: string, partition: number, time: Date): Promise<bigint> {
    const { rows } = await this.pool.query<{ offset: string }>(
      `SELECT COALESCE(${offsetAppendedSince('$3')}, tp.next_offset) AS "offset"
         FROM tributary.topic_partitions tp WHERE tp.topic = $1 AND tp.partition = $2`,
      [topic, partition, time],
    );
    return rows.length ? BigInt(rows[0].offset) : 0n;
  }

  /** Per partition: the first retained offset and the log end offset (next offset to be written). */
  async offsets(topic: string): Promise<{ partition: number; earliest: string; end: string }[]> {
    const { rows } = await this.pool.query<{ partition: number; earliest: string; end: string }>(
      `SELECT tp.partition, COALESCE(${EARLIEST_OFFSET}, tp.next_offset) AS earliest, tp.next_offset AS "end"
         FROM tributary.topic_partitions tp
        WHERE tp.topic = $1
        ORDER BY tp.partition`,
      [topic],
    );
    return rows.map((r) => ({ partition: r.partition, earliest: r.earliest, end: r.end }));
  }
}

/**
 * Locks the head rows of the partitions (in a fixed order, so concurrent appenders cannot deadlock) and
 * returns each one's next offset.
 */
async function lockHeads(client: ClientBase, partitions: { topic: string; partition: number }[]) {
  const locked = await client.query<{ topic: string; partition: number; next_offset: string }>(
    // pg_notify is transactional: readers listening on MESSAGES_CHANNEL wake when this commits.
    `SELECT topic, partition, next_offset, pg_notify('${MESSAGES_CHANNEL}', topic)
       FROM tributary.topic_partitions
      WHERE (topic, partition) IN (SELECT * FROM unnest($1::text[], $2::int[]))
      ORDER BY topic, partition
        FOR UPDATE`,
    [partitions.map((b) => b.topic), partitions.map((b) => b.partition)],
  );
  const next = new Map<string, bigint>();
  for (const row of locked.rows) next.set(`${row.partition}\u0000${row.topic}`, BigInt(row.next_offset));
  return ({ topic, partition }: { topic: string; partition: number }): bigint => {
    const base = next.get(`${partition}\u0000${topic}`);
    if (base === undefined) throw new Error(`topic "${topic}" has no partition ${partition}`);
    return base;
  };
}

/** Inserts batch rows (VALUES lists in the column order below) and moves their partitions' heads past them. */
async function insertBatches(client: ClientBase, values: string[], params: unknown[]): Promise<void> {
  await client.query(
    `WITH inserted AS (
       INSERT INTO tributary.message_batches
         (topic, partition, base_offset, last_offset, envelopes, keys, rows, row_format, source_lsns, tx_ids, commit_times, bytes)
       VALUES ${values.join(',\n')}
       RETURNING topic, partition, last_offset, bytes
     )
     UPDATE tributary.topic_partitions tp
        SET next_offset = i.last_offset + 1, bytes = tp.bytes + i.bytes
       FROM (SELECT topic, partition, max(last_offset) AS last_offset, sum(bytes) AS bytes FROM inserted GROUP BY 1, 2) i
      WHERE tp.topic = i.topic AND tp.partition = i.partition`,
    params,
  );
}

/**
 * `[envelope,envelope,…]` as UTF-8 bytes. Joined as one string, a batch's envelopes made a string of
 * hundreds of kilobytes, kept in V8's large-object space until the next full collection: a third of
 * capture's heap in a 1,000,000-row transaction. A buffer is released as soon as it is unreachable.
 */
function jsonArrayBytes(records: AppendRecord[]): Buffer {
  let size = records.length + 1; // the brackets and the commas
  for (const r of records) size += Buffer.byteLength(r.envelope);
  const out = Buffer.allocUnsafe(size);
  out[0] = 0x5b; // [
  let at = 1;
  for (let i = 0; i < records.length; i++) {
    if (i > 0) out[at++] = 0x2c; // ,
    at += out.write(records[i].envelope, at);
  }
  out[at] = 0x5d; // ]
  return out;
}

/** A Postgres array literal of numbers (or NULLs): no quoting needed, unlike an array of strings. */
function numbers(values: (bigint | number | string | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`;
}

function toStoredMessage(m: BatchMessage): StoredMessage {
  return {
    topic: m.topic,
    partition: m.partition,
    offset: String(m.offset),
    key: m.key,
    envelope: m.envelope,
    sourceLsn: m.sourceLsn === null ? null : formatLsn(BigInt(m.sourceLsn)),
    txId: m.txId,
    commitTime: m.commitTimeMs === null ? null : new Date(m.commitTimeMs).toISOString(),
    appendedAt: m.appendedAt.toISOString(),
  };
}
