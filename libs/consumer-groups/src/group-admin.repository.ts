import type { Pool, PoolClient } from 'pg';
import { withTransaction } from '@tributary/store';
import { EARLIEST_OFFSET, offsetAppendedSince } from '@tributary/topic-log';

/** Where an operator moves a paused group's committed offsets. */
export type ResetTarget = 'earliest' | 'latest' | { timestamp: string } | { offset: bigint };

export interface OffsetReset {
  topic: string;
  partition: number;
  from: string;
  to: string;
}

/** An operator request that cannot be carried out as asked; nothing was changed. */
/** A consumer group in the admin list: its sink kind, members, total lag and blocked partitions. */
export interface GroupSummary {
  name: string;
  topics: string[];
  sink: string;
  paused: boolean;
  members: number;
  lag: string;
  blocked: number;
}

/** A group's health for the console's live overview (GroupAdminRepository.health). */
export interface GroupHealth {
  name: string;
  sink: string;
  paused: boolean;
  partitions: number;
  lag: string;
  blocked: number;
  /** The first blocked partition and why, or null. */
  reason: string | null;
  deadLetters: number;
}

export class GroupAdminError extends Error {
  constructor(
    readonly reason: 'not_found' | 'not_paused' | 'out_of_range' | 'no_partitions',
    message: string,
  ) {
    super(message);
    this.name = 'GroupAdminError';
  }
}

/**
 * Operator actions on a group: pause, resume, reset offsets. A reset moves the committed offsets and
 * bumps the partitions' lease generations in one transaction, so members still holding a partition are
 * fenced (their next commit is rejected) and pick the new position up at their next heartbeat.
 */
export class GroupAdminRepository {
  constructor(private readonly pool: Pool) {}

  /** Every group with its member count and total lag, for overviews (`GET /groups`, `tributary status`). */
  async list(): Promise<GroupSummary[]> {
    const { rows } = await this.pool.query<GroupSummary>(
      `SELECT g.name, g.topics, COALESCE(g.runtime->'sink'->>'type', 'pull') AS sink, g.paused,
              (SELECT count(*)::int FROM tributary.group_members m WHERE m.group_name = g.name) AS members,
              COALESCE((SELECT sum(tp.next_offset - o.next_offset) FROM tributary.group_offsets o
                          JOIN tributary.topic_partitions tp ON tp.topic = o.topic AND tp.partition = o.partition
                         WHERE o.group_name = g.name), 0)::text AS lag,
              (SELECT count(*)::int FROM tributary.group_offsets o WHERE o.group_name = g.name AND o.status <> 'ok') AS blocked
         FROM tributary.consumer_groups g ORDER BY g.name`,
    );
    return rows;
  }

  /** Every group's partitions, lag, blocked partitions (with the first one's reason) and dead letters, in one statement. */
  async health(): Promise<GroupHealth[]> {
    const { rows } = await this.pool.query<GroupHealth>(
      `SELECT g.name, COALESCE(g.runtime->'sink'->>'type', 'pull') AS sink, g.paused, count(o.partition)::int AS partitions,
              COALESCE(sum(GREATEST(tp.next_offset - o.next_offset, 0)), 0)::text AS lag,
              count(*) FILTER (WHERE o.status <> 'ok')::int AS blocked,
              (array_agg(o.topic || '[' || o.partition || ']: ' || COALESCE(o.status_detail, o.status) ORDER BY o.topic, o.partition)
                 FILTER (WHERE o.status <> 'ok'))[1] AS reason,
              (SELECT count(*)::int FROM tributary.dead_letters d WHERE d.group_name = g.name) AS "deadLetters"
         FROM tributary.consumer_groups g
         LEFT JOIN tributary.group_offsets o ON o.group_name = g.name
         LEFT JOIN tributary.topic_partitions tp ON tp.topic = o.topic AND tp.partition = o.partition
        GROUP BY g.name ORDER BY g.name`,
    );
    return rows;
  }

  async setPaused(group: string, paused: boolean): Promise<void> {
    const { rowCount } = await this.pool.query('UPDATE tributary.consumer_groups SET paused = $2 WHERE name = $1', [
      group,
      paused,
    ]);
    if (!rowCount) throw new GroupAdminError('not_found', `group "${group}" does not exist`);
  }

  /**
   * Moves the committed offsets (only while paused). With `dryRun` nothing changes, paused or not, and
   * nothing is locked: the answer is what a reset would do now, for a confirmation to show.
   */
  async resetOffsets(
    group: string,
    target: ResetTarget,
    topic?: string,
    partition?: number,
    dryRun = false,
  ): Promise<OffsetReset[]> {
    if (dryRun) return this.planResets(this.pool, group, target, topic, partition, false);
    return this.transaction(async (c) => {
      // The same lock as a membership round: no member takes a partition while the offsets move.
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', ['tributary.group', group]);
      const resets = await this.planResets(c, group, target, topic, partition, true);
      for (const r of resets) {
        await c.query(
          `UPDATE tributary.group_offsets SET next_offset = $4, status = 'ok', status_detail = NULL, updated_at = now()
            WHERE group_name = $1 AND topic = $2 AND partition = $3`,
          [group, r.topic, r.partition, r.to],
        );
        await c.query(
          `UPDATE tributary.partition_leases SET generation = generation + 1 WHERE group_name = $1 AND topic = $2 AND partition = $3`,
          [group, r.topic, r.partition],
        );
        await c.query(
          `INSERT INTO tributary.group_events (group_name, topic, partition, kind, detail) VALUES ($1, $2, $3, 'offset_reset_manual', $4)`,
          [group, r.topic, r.partition, `an operator moved the committed offset from ${r.from} to ${r.to}`],
        );
      }
      return resets;
    });
  }

  /** Where each selected partition would move; `forUpdate`: the group must be paused, its rows stay locked. */
  private async planResets(
    c: Pool | PoolClient,
    group: string,
    target: ResetTarget,
    topic: string | undefined,
    partition: number | undefined,
    forUpdate: boolean,
  ): Promise<OffsetReset[]> {
    const state = await c.query<{ paused: boolean }>(
      `SELECT paused FROM tributary.consumer_groups WHERE name = $1${forUpdate ? ' FOR UPDATE' : ''}`,
      [group],
    );
    if (!state.rows.length) throw new GroupAdminError('not_found', `group "${group}" does not exist`);
    if (forUpdate && !state.rows[0].paused)
      throw new GroupAdminError('not_paused', `group "${group}" must be paused before its offsets are reset`);
    const { rows } = await c.query<{
      topic: string;
      partition: number;
      committed: string;
      earliest: string;
      end: string;
      at: string | null;
    }>(
      `SELECT o.topic, o.partition, o.next_offset AS committed, tp.next_offset AS "end",
              COALESCE(${EARLIEST_OFFSET}, tp.next_offset) AS earliest,
              CASE WHEN $4::timestamptz IS NULL THEN NULL ELSE
                COALESCE(${offsetAppendedSince('$4::timestamptz')}, tp.next_offset) END AS at
         FROM tributary.group_offsets o
         JOIN tributary.topic_partitions tp ON tp.topic = o.topic AND tp.partition = o.partition
        WHERE o.group_name = $1 AND ($2::text IS NULL OR o.topic = $2) AND ($3::int IS NULL OR o.partition = $3)
        ORDER BY o.topic, o.partition${forUpdate ? ' FOR UPDATE OF o' : ''}`,
      [group, topic ?? null, partition ?? null, typeof target === 'object' && 'timestamp' in target ? target.timestamp : null],
    );
    if (!rows.length) throw new GroupAdminError('no_partitions', `group "${group}" has no such partition`);
    return rows.map((r) => ({ topic: r.topic, partition: r.partition, from: r.committed, to: newOffset(r, target) }));
  }

  private transaction<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, fn);
  }
}

function newOffset(
  r: { topic: string; partition: number; earliest: string; end: string; at: string | null },
  target: ResetTarget,
): string {
  if (target === 'earliest') return r.earliest;
  if (target === 'latest') return r.end;
  if ('timestamp' in target) return r.at as string;
  if (target.offset < BigInt(r.earliest) || target.offset > BigInt(r.end)) {
    throw new GroupAdminError(
      'out_of_range',
      `offset ${target.offset} is outside ${r.topic}[${r.partition}]'s retained range ${r.earliest}..${r.end}`,
    );
  }
  return String(target.offset);
}
