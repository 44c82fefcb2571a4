import type { Pool } from 'pg';

export interface DeadLetter {
  id: string;
  group: string;
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  error: string;
  attempts: number;
  createdAt: string;
  /** The message's envelope JSON text, as stored. */
  envelope?: string;
}

/** Parked messages of every group, whatever its sink: list with filters, inspect, discard. */
export class DeadLetterRepository {
  constructor(private readonly pool: Pool) {}

  async list(filter: { group?: string; topic?: string; before?: string; limit: number }): Promise<DeadLetter[]> {
    const { rows } = await this.pool.query<DeadLetterRow>(
      `SELECT id, group_name, topic, partition, "offset", key, error, attempts, created_at
         FROM tributary.dead_letters
        WHERE ($1::text IS NULL OR group_name = $1) AND ($2::text IS NULL OR topic = $2) AND ($3::bigint IS NULL OR id < $3)
        ORDER BY id DESC LIMIT $4`,
      [filter.group ?? null, filter.topic ?? null, filter.before ?? null, filter.limit],
    );
    return rows.map(toDeadLetter);
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    const { rows } = await this.pool.query<DeadLetterRow & { envelope: string }>(
      `SELECT id, group_name, topic, partition, "offset", key, error, attempts, created_at, envelope::text AS envelope
         FROM tributary.dead_letters WHERE id = $1`,
      [id],
    );
    return rows[0] ? { ...toDeadLetter(rows[0]), envelope: rows[0].envelope } : undefined;
  }

  /** Drops a dead letter for good (the group already moved past it). */
  async discard(id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM tributary.dead_letters WHERE id = $1', [id]);
    return (rowCount ?? 0) > 0;
  }
}

/** A row of tributary.dead_letters as pg returns it (bigints as text). */
interface DeadLetterRow {
  id: string;
  group_name: string;
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  error: string;
  attempts: number;
  created_at: Date;
}

function toDeadLetter(r: DeadLetterRow): DeadLetter {
  return {
    id: r.id,
    group: r.group_name,
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    key: r.key,
    error: r.error,
    attempts: r.attempts,
    createdAt: r.created_at.toISOString(),
  };
}
