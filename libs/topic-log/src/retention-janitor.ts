import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';

const BATCH = 5_000;

export interface RetentionResult {
  topic: string;
  partition: number;
  deleted: number;
}

/**
 * Enforces retention.ms and retention.bytes by deleting each partition's oldest record batches (whole
 * appends, as Kafka deletes whole segments), a bounded number at a time through the primary key. The work is proportional to what expires, never to what is kept,
 * and the log stays one contiguous range of offsets (only a prefix is ever removed).
 */
export class RetentionJanitor {
  private readonly logger = new Logger('RetentionJanitor');

  constructor(private readonly pool: Pool) {}

  async runOnce(): Promise<RetentionResult[]> {
    const { rows: partitions } = await this.pool.query<{
      topic: string;
      partition: number;
      retention_ms: string | null;
      retention_bytes: string | null;
      bytes: string;
    }>(
      `SELECT t.name AS topic, tp.partition, t.retention_ms, t.retention_bytes, tp.bytes
         FROM tributary.topics t JOIN tributary.topic_partitions tp ON tp.topic = t.name
        WHERE t.retention_ms IS NOT NULL OR t.retention_bytes IS NOT NULL
        ORDER BY t.name, tp.partition`,
    );
    const results: RetentionResult[] = [];
    for (const p of partitions) {
      // One partition that cannot be trimmed (a value stored before retention was bounded, a lock timeout)
      // is reported and tried again next round; it never stops retention of the partitions after it.
      try {
        const deleted = await this.expire(p.topic, p.partition, p.retention_ms, p.retention_bytes);
        if (deleted) {
          results.push({ topic: p.topic, partition: p.partition, deleted });
          this.logger.log(`retention removed ${deleted} messages from ${p.topic}[${p.partition}]`);
        }
      } catch (error) {
        this.logger.error(
          `retention of ${p.topic}[${p.partition}] failed, the next round tries again: ${(error as Error).message}`,
        );
      }
    }
    return results;
  }

  private async expire(
    topic: string,
    partition: number,
    retentionMs: string | null,
    retentionBytes: string | null,
  ): Promise<number> {
    let deleted = 0;
    if (retentionMs !== null) deleted += await this.expireByTime(topic, partition, Number(retentionMs));
    if (retentionBytes !== null) deleted += await this.expireBySize(topic, partition, BigInt(retentionBytes));
    return deleted;
  }

  private async expireByTime(topic: string, partition: number, retentionMs: number): Promise<number> {
    let total = 0;
    for (;;) {
      // The expired prefix of the next BATCH record batches: everything before the first one still in retention.
      const { deleted, batches } = await this.deletePrefix(
        topic,
        partition,
        `SELECT last_offset, last_offset - base_offset + 1 AS messages, bytes,
                appended_at < now() - make_interval(secs => $3::double precision / 1000) AS doomed
           FROM tributary.message_batches WHERE topic = $1 AND partition = $2 ORDER BY last_offset LIMIT ${BATCH}`,
        [retentionMs],
      );
      total += deleted;
      if (batches < BATCH) return total;
    }
  }

  private async expireBySize(topic: string, partition: number, retentionBytes: bigint): Promise<number> {
    let total = 0;
    for (;;) {
      // A batch goes while the partition, with it and everything after it, holds more than retentionBytes.
      const { deleted, batches } = await this.deletePrefix(
        topic,
        partition,
        `SELECT b.last_offset, b.messages, b.bytes,
                tp.bytes - sum(b.bytes) OVER (ORDER BY b.last_offset) + b.bytes > $3::bigint AS doomed
           FROM (SELECT last_offset, last_offset - base_offset + 1 AS messages, bytes FROM tributary.message_batches
                  WHERE topic = $1 AND partition = $2 ORDER BY last_offset LIMIT ${BATCH}) b,
                tributary.topic_partitions tp
          WHERE tp.topic = $1 AND tp.partition = $2`,
        [String(retentionBytes)],
      );
      total += deleted;
      if (batches < BATCH) return total;
    }
  }

  /**
   * Deletes the leading run of `doomed` batches of a candidate query and subtracts their bytes, in one
   * transaction. Returns the messages deleted and how many batches were deleted.
   */
  private async deletePrefix(
    topic: string,
    partition: number,
    candidates: string,
    params: unknown[],
  ): Promise<{ deleted: number; batches: number }> {
    const { rows } = await this.pool.query<{ deleted: number; batches: number }>(
      `WITH candidates AS (${candidates}),
            cut AS (SELECT min(last_offset) AS first_kept FROM candidates WHERE NOT doomed),
            removed AS (
              DELETE FROM tributary.message_batches b
               USING candidates c, cut
               WHERE b.topic = $1 AND b.partition = $2 AND b.last_offset = c.last_offset AND c.doomed
                 AND (cut.first_kept IS NULL OR c.last_offset < cut.first_kept)
              RETURNING b.last_offset - b.base_offset + 1 AS messages, b.bytes
            ),
            total AS (
              SELECT COALESCE(sum(messages), 0)::int AS deleted, count(*)::int AS batches, COALESCE(sum(bytes), 0) AS bytes
                FROM removed
            ),
            upd AS (
              UPDATE tributary.topic_partitions SET bytes = bytes - (SELECT bytes FROM total)
               WHERE topic = $1 AND partition = $2
            )
       SELECT deleted, batches FROM total`,
      [topic, partition, ...params],
    );
    return rows[0];
  }
}
