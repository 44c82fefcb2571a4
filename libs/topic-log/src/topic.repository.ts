import { createHash } from 'node:crypto';
import type { ClientBase, Pool } from 'pg';
import { withTransaction } from '@tributary/store';
import type { TopicSettings } from './topic-log-types';

/** Settings of a topic to create; a null retention is unlimited. */
type NewTopic = { partitions: number; retentionMs: number | null; retentionBytes: number | null };

export interface TopicInfo extends Omit<TopicSettings, 'retentionMs'> {
  name: string;
  /** Null: kept forever. */
  retentionMs: number | null;
  createdAt: string;
}

/** Topic metadata: creation (with its partition heads) and lookup. */
export class TopicRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Creates the topic and its partition heads if it does not exist, inside the caller's transaction
   * when a client is given. Returns the topic's actual partition count (an existing topic keeps its own).
   */
  static async ensure(client: ClientBase, name: string, settings: TopicSettings): Promise<number> {
    await insertTopic(client, name, settings);
    const { rows } = await client.query<{ partitions: number }>('SELECT partitions FROM tributary.topics WHERE name = $1', [
      name,
    ]);
    return rows[0].partitions;
  }

  /** Creates the topic inside the caller's transaction; false when it exists. */
  static async createIn(client: ClientBase, name: string, settings: NewTopic): Promise<boolean> {
    return (await insertTopic(client, name, settings)) > 0;
  }

  /** A topic's settings read inside the caller's transaction; undefined when it does not exist. */
  static async settingsIn(
    client: ClientBase,
    name: string,
  ): Promise<{ partitions: number; retentionMs: number | null; retentionBytes: number | null } | undefined> {
    const { rows } = await client.query<{ partitions: number; retention_ms: string | null; retention_bytes: string | null }>(
      'SELECT partitions, retention_ms, retention_bytes FROM tributary.topics WHERE name = $1',
      [name],
    );
    if (!rows.length) return undefined;
    const r = rows[0];
    return {
      partitions: r.partitions,
      retentionMs: r.retention_ms === null ? null : Number(r.retention_ms),
      retentionBytes: r.retention_bytes === null ? null : Number(r.retention_bytes),
    };
  }

  /** Sets both retention limits inside the caller's transaction (null: unlimited). */
  static async setRetentionIn(
    client: ClientBase,
    name: string,
    retention: { retentionMs: number | null; retentionBytes: number | null },
  ): Promise<void> {
    await client.query('UPDATE tributary.topics SET retention_ms = $2, retention_bytes = $3 WHERE name = $1', [
      name,
      retention.retentionMs,
      retention.retentionBytes,
    ]);
  }

  async list(): Promise<TopicInfo[]> {
    const { rows } = await this.pool.query(
      'SELECT name, partitions, retention_ms, retention_bytes, created_at FROM tributary.topics ORDER BY name',
    );
    return rows.map(toInfo);
  }

  /** Every partition's log end offset (the next offset to be written), for the tributary_topic_end_offset gauge. */
  async partitionEnds(): Promise<{ topic: string; partition: number; endOffset: string }[]> {
    const { rows } = await this.pool.query<{ topic: string; partition: number; next_offset: string }>(
      'SELECT topic, partition, next_offset FROM tributary.topic_partitions',
    );
    return rows.map((r) => ({ topic: r.topic, partition: r.partition, endOffset: r.next_offset }));
  }

  async get(name: string): Promise<TopicInfo | undefined> {
    return (await this.list()).find((t) => t.name === name);
  }

  /**
   * Changes retention only: the partition count is fixed, since changing it would move keys between
   * partitions. `expected` (an ETag from `etagOf`) makes it conditional: the row is locked and compared
   * first, so two clients editing the same version cannot overwrite each other.
   */
  async updateRetention(
    name: string,
    change: { retentionMs?: number | null; retentionBytes?: number | null },
    expected?: string,
  ): Promise<'updated' | 'not_found' | 'conflict'> {
    return withTransaction(this.pool, async (c) => {
      const { rows } = await c.query<TopicRow>(
        'SELECT name, partitions, retention_ms, retention_bytes, created_at FROM tributary.topics WHERE name = $1 FOR UPDATE',
        [name],
      );
      if (!rows.length) return 'not_found';
      if (expected !== undefined && etagOf(toInfo(rows[0])) !== expected) return 'conflict';
      await c.query(
        `UPDATE tributary.topics
            SET retention_ms = CASE WHEN $2 THEN $3::bigint ELSE retention_ms END,
                retention_bytes = CASE WHEN $4 THEN $5::bigint ELSE retention_bytes END
          WHERE name = $1`,
        [
          name,
          change.retentionMs !== undefined,
          change.retentionMs ?? null,
          change.retentionBytes !== undefined,
          change.retentionBytes ?? null,
        ],
      );
      return 'updated';
    });
  }

  /** Removes a topic, its messages and every group's position in it, in one transaction. */
  async delete(name: string): Promise<boolean> {
    return withTransaction(this.pool, async (c) => {
      const { rowCount } = await c.query('DELETE FROM tributary.topics WHERE name = $1', [name]);
      for (const table of ['message_batches', 'topic_partitions', 'group_offsets', 'partition_leases', 'dead_letters']) {
        await c.query(`DELETE FROM tributary.${table} WHERE topic = $1`, [name]);
      }
      return (rowCount ?? 0) > 0;
    });
  }

  /** Creates a topic; false when the name is taken (also when another request created it a moment before). */
  async create(name: string, settings: NewTopic): Promise<boolean> {
    return (await insertTopic(this.pool, name, settings)) > 0;
  }
}

/** Inserts the topic and its partition heads unless the name exists; returns the partitions created (0: it existed). */
async function insertTopic(db: Pick<ClientBase, 'query'>, name: string, settings: NewTopic): Promise<number> {
  const { rowCount } = await db.query(
    `WITH created AS (
       INSERT INTO tributary.topics (name, partitions, retention_ms, retention_bytes)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO NOTHING
       RETURNING name, partitions
     )
     INSERT INTO tributary.topic_partitions (topic, partition)
     SELECT c.name, p FROM created c, generate_series(0, c.partitions - 1) AS p`,
    [name, settings.partitions, settings.retentionMs, settings.retentionBytes],
  );
  return rowCount ?? 0;
}

/** A row of tributary.topics as pg returns it (bigints as text). */
interface TopicRow {
  name: string;
  partitions: number;
  retention_ms: string | null;
  retention_bytes: string | null;
  created_at: Date;
}

function toInfo(r: TopicRow): TopicInfo {
  return {
    name: r.name,
    partitions: r.partitions,
    retentionMs: r.retention_ms === null ? null : Number(r.retention_ms),
    retentionBytes: r.retention_bytes === null ? null : Number(r.retention_bytes),
    createdAt: r.created_at.toISOString(),
  };
}

/** A topic's version for conditional updates (HTTP ETag / If-Match): its settings, hashed. */
export function etagOf(t: TopicInfo): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([t.name, t.partitions, t.retentionMs, t.retentionBytes]))
    .digest('base64url');
  return `"${digest.slice(0, 22)}"`;
}
