import type { Pool, PoolClient } from 'pg';
import type { PartitionRef } from './assignment';
import { assignPartitions, partitionId } from './assignment';
import type { ConsumedMessage } from '@tributary/sink-contract';
import type { GroupDefinition, HeartbeatResult, Lease, PartitionBounds, PartitionLag } from './group-types';
import { consumed } from './consumed-messages';
import { globToLike } from './topic-patterns';
import { GroupDeletedError, StaleMemberError } from './group-types';
import { withTransaction } from '@tributary/store';
import { BATCH_COLUMNS, batchesInRange, EARLIEST_OFFSET, offsetAppendedSince, topicIncarnation } from '@tributary/topic-log';

/** What fetched messages carry of their topic ($1): its partition count and incarnation. */
const TOPIC_COLUMNS = `(SELECT partitions FROM tributary.topics WHERE name = $1) AS partitions, ${topicIncarnation('$1')} AS topic_incarnation`;

/** All SQL of consumer groups: membership, leases, committed offsets, dead letters. */
/** A group row's version and creation time: changes when the group is changed, or deleted and re-created. */
const INCARNATION = `version || '@' || (extract(epoch from created_at) * 1000000)::bigint`;

export class GroupRepository {
  constructor(private readonly pool: Pool) {}

  async upsertGroup(def: GroupDefinition): Promise<void> {
    await this.pool.query(
      `INSERT INTO tributary.consumer_groups (name, topics, start_from, reset_policy, session_timeout_ms)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO UPDATE
          SET topics = EXCLUDED.topics, start_from = EXCLUDED.start_from, reset_policy = EXCLUDED.reset_policy,
              session_timeout_ms = EXCLUDED.session_timeout_ms, updated_at = now()
        WHERE (consumer_groups.topics, consumer_groups.start_from, consumer_groups.reset_policy, consumer_groups.session_timeout_ms)
              IS DISTINCT FROM (EXCLUDED.topics, EXCLUDED.start_from, EXCLUDED.reset_policy, EXCLUDED.session_timeout_ms)`,
      [def.name, def.topics, def.startFrom, def.resetPolicy, def.sessionTimeoutMs],
    );
  }

  async getGroup(name: string): Promise<(GroupDefinition & { paused: boolean }) | undefined> {
    const { rows } = await this.pool.query<{
      name: string;
      topics: string[];
      start_from: string;
      reset_policy: GroupDefinition['resetPolicy'];
      session_timeout_ms: number;
      paused: boolean;
      incarnation: string;
    }>(
      `SELECT name, topics, start_from, reset_policy, session_timeout_ms, paused, ${INCARNATION} AS incarnation
         FROM tributary.consumer_groups WHERE name = $1`,
      [name],
    );
    if (!rows.length) return undefined;
    const r = rows[0];
    return {
      name: r.name,
      topics: r.topics,
      startFrom: r.start_from,
      resetPolicy: r.reset_policy,
      sessionTimeoutMs: r.session_timeout_ms,
      paused: r.paused,
      incarnation: r.incarnation,
    };
  }

  /**
   * One membership round, serialised per group: refresh this member, expire silent ones (freeing their
   * leases), make sure every subscribed partition has a lease and a committed position, and take the
   * free partitions the assignment gives this member.
   */
  async heartbeat(def: GroupDefinition, memberId: string, client: string): Promise<HeartbeatResult> {
    return this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', ['tributary.group', def.name]);
      // Under the lock deleting a group takes too: a deleted group gets no members, leases or offsets back.
      const { rows: found } = await c.query<{ incarnation: string }>(
        `SELECT ${INCARNATION} AS incarnation FROM tributary.consumer_groups WHERE name = $1`,
        [def.name],
      );
      if (!found.length) throw new GroupDeletedError(def.name);
      if (def.incarnation !== undefined && found[0].incarnation !== def.incarnation)
        throw new GroupDeletedError(def.name, 'changed');
      await c.query(
        `INSERT INTO tributary.group_members (group_name, member_id, client) VALUES ($1, $2, $3)
         ON CONFLICT (group_name, member_id) DO UPDATE SET heartbeat_at = now()`,
        [def.name, memberId, client],
      );
      await c.query(
        `DELETE FROM tributary.group_members
          WHERE group_name = $1 AND heartbeat_at < now() - make_interval(secs => $2::double precision / 1000)`,
        [def.name, def.sessionTimeoutMs],
      );
      await c.query(
        `UPDATE tributary.partition_leases l SET member_id = NULL
          WHERE l.group_name = $1 AND l.member_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM tributary.group_members m WHERE m.group_name = l.group_name AND m.member_id = l.member_id)`,
        [def.name],
      );
      const members = (
        await c.query<{ id: string }>('SELECT member_id AS id FROM tributary.group_members WHERE group_name = $1', [def.name])
      ).rows;
      const partitions = (
        await c.query<PartitionRef>(
          `SELECT topic, partition FROM tributary.topic_partitions WHERE topic LIKE ANY($1::text[]) ORDER BY topic, partition`,
          [def.topics.map(globToLike)],
        )
      ).rows;
      const topics = partitions.map((p) => p.topic);
      const numbers = partitions.map((p) => p.partition);
      await c.query(
        `INSERT INTO tributary.partition_leases (group_name, topic, partition)
         SELECT $1, topic, partition FROM unnest($2::text[], $3::int[]) AS p(topic, partition)
         ON CONFLICT DO NOTHING`,
        [def.name, topics, numbers],
      );
      await c.query(
        `INSERT INTO tributary.group_offsets (group_name, topic, partition, next_offset)
         SELECT $1, tp.topic, tp.partition,
                CASE $4
                  WHEN 'latest' THEN tp.next_offset
                  WHEN 'earliest' THEN COALESCE(${EARLIEST_OFFSET}, tp.next_offset)
                  ELSE COALESCE(${offsetAppendedSince('$4::timestamptz')}, tp.next_offset)
                END
           FROM tributary.topic_partitions tp
           JOIN unnest($2::text[], $3::int[]) AS p(topic, partition) ON p.topic = tp.topic AND p.partition = tp.partition
         ON CONFLICT DO NOTHING`,
        [def.name, topics, numbers, def.startFrom],
      );
      const desired = assignPartitions(
        members.map((m) => m.id),
        partitions,
      ).get(memberId) as PartitionRef[];
      await c.query(
        `UPDATE tributary.partition_leases l
            SET member_id = $2, generation = l.generation + 1, acquired_at = now()
           FROM unnest($3::text[], $4::int[]) AS d(topic, partition)
          WHERE l.group_name = $1 AND l.member_id IS NULL AND l.topic = d.topic AND l.partition = d.partition`,
        [def.name, memberId, desired.map((p) => p.topic), desired.map((p) => p.partition)],
      );
      const owned = await c.query<{
        topic: string;
        partition: number;
        generation: string;
        next_offset: string;
        status: Lease['status'];
        topic_incarnation: string | null;
      }>(
        `SELECT l.topic, l.partition, l.generation, o.next_offset, o.status, ${topicIncarnation('l.topic')} AS topic_incarnation
           FROM tributary.partition_leases l
           JOIN tributary.group_offsets o ON o.group_name = l.group_name AND o.topic = l.topic AND o.partition = l.partition
          WHERE l.group_name = $1 AND l.member_id = $2
          ORDER BY l.topic, l.partition`,
        [def.name, memberId],
      );
      const wanted = new Set(desired.map(partitionId));
      return {
        owned: owned.rows.map((r) => ({
          topic: r.topic,
          partition: r.partition,
          generation: BigInt(r.generation),
          nextOffset: BigInt(r.next_offset),
          status: r.status,
          topicIncarnation: r.topic_incarnation ?? undefined,
        })),
        revoke: owned.rows.filter((r) => !wanted.has(partitionId(r))).map((r) => ({ topic: r.topic, partition: r.partition })),
        members: members.length,
        paused:
          (await c.query<{ paused: boolean }>('SELECT paused FROM tributary.consumer_groups WHERE name = $1', [def.name])).rows[0]
            ?.paused ?? false,
      };
    });
  }

  /** Hands a partition back (only if this member still holds it under that generation). */
  async release(group: string, memberId: string, lease: Lease): Promise<void> {
    await this.pool.query(
      `UPDATE tributary.partition_leases SET member_id = NULL
        WHERE group_name = $1 AND topic = $2 AND partition = $3 AND member_id = $4 AND generation = $5`,
      [group, lease.topic, lease.partition, memberId, String(lease.generation)],
    );
  }

  async leave(group: string, memberId: string): Promise<void> {
    await this.transaction(async (c) => {
      await c.query('UPDATE tributary.partition_leases SET member_id = NULL WHERE group_name = $1 AND member_id = $2', [
        group,
        memberId,
      ]);
      await c.query('DELETE FROM tributary.group_members WHERE group_name = $1 AND member_id = $2', [group, memberId]);
    });
  }

  /**
   * Moves the committed position, fenced: the lease row is read FOR SHARE, so an owner change either
   * waits for this commit or makes it fail. Throws StaleMemberError when the lease is no longer ours.
   * `durable` false commits without waiting for the WAL flush (synchronous_commit off for this one
   * transaction): a crash of the platform database may then lose it, which only means redelivery of
   * what it covered; fencing is unaffected (visibility and locks are the same).
   */
  async commit(
    group: string,
    memberId: string,
    lease: Lease,
    nextOffset: bigint,
    status?: { status: string; detail: string | null },
    incarnation?: string,
    durable = true,
  ): Promise<void> {
    const relaxed = durable ? '' : `AND (SELECT set_config('synchronous_commit', 'off', true)) = 'off'`;
    const { rowCount } = await this.pool.query(
      `WITH lease AS (
         SELECT 1 FROM tributary.partition_leases
          WHERE group_name = $1 AND topic = $2 AND partition = $3 AND member_id = $4 AND generation = $5
            FOR SHARE
       )
       UPDATE tributary.group_offsets
          SET next_offset = $6, updated_at = now(),
              status = COALESCE($7, status), status_detail = CASE WHEN $7 IS NULL THEN status_detail ELSE $8 END
        WHERE group_name = $1 AND topic = $2 AND partition = $3 AND EXISTS (SELECT 1 FROM lease)
          AND ($9::text IS NULL OR EXISTS (SELECT 1 FROM tributary.consumer_groups g WHERE g.name = $1 AND ${INCARNATION} = $9))
          AND ($10::text IS NULL OR ${topicIncarnation('$2')} = $10) ${relaxed}`,
      [
        group,
        lease.topic,
        lease.partition,
        memberId,
        String(lease.generation),
        String(nextOffset),
        status?.status ?? null,
        status?.detail ?? null,
        incarnation ?? null,
        // A lease of a topic since deleted and re-created may have the same generation: fence it too.
        lease.topicIncarnation ?? null,
      ],
    );
    if (!rowCount) throw new StaleMemberError(group, lease.topic, lease.partition, lease.generation);
  }

  /** The log end offset of each partition of a topic, on a given connection (the notifier's own). */
  static async partitionEnds(db: Pick<PoolClient, 'query'>, topic: string): Promise<Map<number, bigint>> {
    const { rows } = await db.query<{ partition: number; next_offset: string }>(
      'SELECT partition, next_offset FROM tributary.topic_partitions WHERE topic = $1',
      [topic],
    );
    return new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
  }

  async bounds(topic: string, partition: number): Promise<PartitionBounds> {
    const { rows } = await this.pool.query<{ end: string; earliest: string }>(
      `SELECT tp.next_offset AS "end",
              COALESCE(${EARLIEST_OFFSET}, tp.next_offset) AS earliest
         FROM tributary.topic_partitions tp WHERE tp.topic = $1 AND tp.partition = $2`,
      [topic, partition],
    );
    return { earliest: BigInt(rows[0].earliest), end: BigInt(rows[0].end) };
  }

  /**
   * Messages of a partition from `from` on: at least `limit` when there are, and the rest of the last
   * record batch read, since reading part of a batch costs about as much as reading all of it.
   */
  async fetch(topic: string, partition: number, from: bigint, limit: number): Promise<ConsumedMessage[]> {
    const end = from + BigInt(limit);
    const { rows } = await this.pool.query<Record<string, unknown>>(batchesInRange(`${BATCH_COLUMNS}, ${TOPIC_COLUMNS}`), [
      topic,
      partition,
      String(from),
      String(end),
    ]);
    return consumed(rows, (offset) => offset >= from);
  }

  async fetchOffsets(topic: string, partition: number, offsets: bigint[]): Promise<ConsumedMessage[]> {
    const wanted = new Set(offsets);
    const { rows } = await this.pool.query<Record<string, unknown>>(
      `SELECT ${BATCH_COLUMNS}, ${TOPIC_COLUMNS}
         FROM tributary.message_batches b
        WHERE b.topic = $1 AND b.partition = $2
          AND EXISTS (SELECT 1 FROM unnest($3::bigint[]) o WHERE o BETWEEN b.base_offset AND b.last_offset)
        ORDER BY b.last_offset`,
      [topic, partition, offsets.map(String)],
    );
    return consumed(rows, (offset) => wanted.has(offset));
  }

  async recordEvent(group: string, ref: PartitionRef, kind: string, detail: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO tributary.group_events (group_name, topic, partition, kind, detail) VALUES ($1, $2, $3, $4, $5)`,
      [group, ref.topic, ref.partition, kind, detail],
    );
  }

  async deadLetter(group: string, message: ConsumedMessage, error: string, attempts: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO tributary.dead_letters (group_name, topic, partition, "offset", key, envelope, error, attempts)
       VALUES ($1, $2, $3, $4, $5, $6::json, $7, $8)
       ON CONFLICT (group_name, topic, partition, "offset") DO UPDATE SET error = EXCLUDED.error, attempts = EXCLUDED.attempts`,
      [group, message.topic, message.partition, String(message.offset), message.key, message.envelope, error, attempts],
    );
  }

  async lag(group: string): Promise<PartitionLag[]> {
    const { rows } = await this.pool.query<{
      topic: string;
      partition: number;
      committed: string;
      end: string;
      lag: string;
      owner: string | null;
      generation: string | null;
      status: string;
      status_detail: string | null;
    }>(
      `SELECT o.topic, o.partition, o.next_offset AS committed, tp.next_offset AS "end",
              tp.next_offset - o.next_offset AS lag, l.member_id AS owner, l.generation, o.status, o.status_detail
         FROM tributary.group_offsets o
         JOIN tributary.topic_partitions tp ON tp.topic = o.topic AND tp.partition = o.partition
         LEFT JOIN tributary.partition_leases l ON l.group_name = o.group_name AND l.topic = o.topic AND l.partition = o.partition
        WHERE o.group_name = $1
        ORDER BY o.topic, o.partition`,
      [group],
    );
    return rows.map((r) => ({
      topic: r.topic,
      partition: r.partition,
      committed: r.committed,
      end: r.end,
      lag: r.lag,
      owner: r.owner,
      generation: String(r.generation ?? 0),
      status: r.status,
      statusDetail: r.status_detail,
    }));
  }

  async events(group: string): Promise<{ topic: string; partition: number; kind: string; detail: string; createdAt: string }[]> {
    const { rows } = await this.pool.query<{ topic: string; partition: number; kind: string; detail: string; created_at: Date }>(
      `SELECT topic, partition, kind, detail, created_at FROM tributary.group_events WHERE group_name = $1 ORDER BY id DESC LIMIT 100`,
      [group],
    );
    return rows.map((r) => ({
      topic: r.topic,
      partition: r.partition,
      kind: r.kind,
      detail: r.detail,
      createdAt: r.created_at.toISOString(),
    }));
  }

  async members(group: string): Promise<{ memberId: string; client: string; joinedAt: string; heartbeatAt: string }[]> {
    const { rows } = await this.pool.query<{ member_id: string; client: string; joined_at: Date; heartbeat_at: Date }>(
      `SELECT member_id, client, joined_at, heartbeat_at FROM tributary.group_members WHERE group_name = $1 ORDER BY member_id`,
      [group],
    );
    return rows.map((r) => ({
      memberId: r.member_id,
      client: r.client,
      joinedAt: r.joined_at.toISOString(),
      heartbeatAt: r.heartbeat_at.toISOString(),
    }));
  }

  private transaction<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, fn);
  }
}
