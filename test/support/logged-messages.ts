import { BATCH_COLUMNS_WITH_SOURCE, unpackBatches } from '@tributary/topic-log';

/** One message as the topic log holds it (envelopes rendered, as every reader sees them). */
export interface LoggedMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  envelope: string;
  sourceLsn: string | null;
  txId: string | null;
  commitTimeMs: number | null;
}

/** Anything that runs a query on the platform database and returns its rows. */
export interface PlatformQuery {
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * Every message of a topic (or of all topics), in topic, partition and offset order, read from the
 * record batches as the platform's own readers read them.
 */
export async function loggedMessages(db: PlatformQuery, topic?: string): Promise<LoggedMessage[]> {
  const { rows } = await db.query(
    `SELECT ${BATCH_COLUMNS_WITH_SOURCE} FROM tributary.message_batches b
      ${topic === undefined ? '' : 'WHERE b.topic = $1'}
      ORDER BY b.topic, b.partition, b.last_offset`,
    topic === undefined ? [] : [topic],
  );
  return unpackBatches(rows, () => true).map((m) => ({
    topic: m.topic,
    partition: m.partition,
    offset: Number(m.offset),
    key: m.key,
    envelope: m.envelope,
    sourceLsn: m.sourceLsn,
    txId: m.txId,
    commitTimeMs: m.commitTimeMs,
  }));
}
