import type { Pool } from 'pg';

/**
 * The consumer groups' numbers for /metrics, each in one statement over every group: partition lag and
 * status, event counts, dead letter counts (GroupRepository.lag and .events answer one group at a time,
 * events limited to the last 100).
 */
export class GroupGaugesRepository {
  constructor(private readonly pool: Pool) {}

  async partitionLag(): Promise<{ group: string; topic: string; partition: number; lag: string; status: string }[]> {
    const { rows } = await this.pool.query<{ group: string; topic: string; partition: number; lag: string; status: string }>(
      `SELECT o.group_name AS "group", o.topic, o.partition, tp.next_offset - o.next_offset AS lag, o.status
         FROM tributary.group_offsets o
         JOIN tributary.topic_partitions tp ON tp.topic = o.topic AND tp.partition = o.partition`,
    );
    return rows;
  }

  async eventCounts(): Promise<{ group: string; kind: string; count: number }[]> {
    const { rows } = await this.pool.query<{ group: string; kind: string; count: number }>(
      `SELECT group_name AS "group", kind, count(*)::int AS count FROM tributary.group_events GROUP BY group_name, kind`,
    );
    return rows;
  }

  async deadLetterCounts(): Promise<{ group: string; count: number }[]> {
    const { rows } = await this.pool.query<{ group: string; count: number }>(
      `SELECT group_name AS "group", count(*)::int AS count FROM tributary.dead_letters GROUP BY group_name`,
    );
    return rows;
  }
}
