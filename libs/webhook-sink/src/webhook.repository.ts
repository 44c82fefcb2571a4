import { globToLike } from '@tributary/consumer-groups';
import type { ConsumedMessage } from '@tributary/sink-contract';
import type { Pool } from 'pg';
import { BATCH_COLUMNS, batchesInRange, type BatchMessage, unpackBatches } from '@tributary/topic-log';

export type SubscriptionStatus = 'active' | 'paused' | 'disabled';

export interface SubscriptionState {
  group: string;
  url: string;
  status: SubscriptionStatus;
  detail: string | null;
  updatedAt: string;
}

export interface AttemptView {
  id: string;
  webhookId: string;
  kind: string;
  topic: string;
  partition: number;
  firstOffset: string;
  lastOffset: string;
  messages: number;
  attempt: number;
  status: number | null;
  latencyMs: number;
  error: string | null;
  at: string;
}

export interface DeadLetterView {
  id: string;
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  error: string;
  attempts: number;
  createdAt: string;
  /** Every logged attempt at this message (alone or in a batch), oldest first. */
  attemptLog: AttemptView[];
}

export interface AttemptQuery {
  limit?: number;
  /** Only attempts with an id below this (paging, newest first). */
  before?: string;
  failedOnly?: boolean;
  topic?: string;
  partition?: number;
  /** Only attempts whose request carried this offset. */
  offset?: string;
}

const ATTEMPT_COLUMNS = `a.id, a.webhook_id, a.kind, a.topic, a.partition, a.first_offset, a.last_offset, a.messages, a.attempt,
                         a.status, a.latency_ms, a.error, a.created_at`;

/** SQL of webhook subscriptions: status, attempt log queries, dead letters, messages to replay. */
export class WebhookRepository {
  constructor(readonly pool: Pool) {}

  async setStatus(group: string, url: string, status: SubscriptionStatus, detail: string | null): Promise<void> {
    await this.pool.query(
      `INSERT INTO tributary.webhook_subscriptions (group_name, url, status, status_detail) VALUES ($1, $2, $3, $4)
       ON CONFLICT (group_name) DO UPDATE
          SET url = EXCLUDED.url, status = EXCLUDED.status, status_detail = EXCLUDED.status_detail, updated_at = now()`,
      [group, storedUrl(url), status, detail],
    );
  }

  async status(group: string): Promise<SubscriptionState | undefined> {
    const { rows } = await this.pool.query<{
      group_name: string;
      url: string;
      status: SubscriptionStatus;
      status_detail: string | null;
      updated_at: Date;
    }>(`SELECT group_name, url, status, status_detail, updated_at FROM tributary.webhook_subscriptions WHERE group_name = $1`, [
      group,
    ]);
    if (!rows.length) return undefined;
    const r = rows[0];
    return {
      group: r.group_name,
      url: r.url,
      status: r.status,
      detail: r.status_detail,
      updatedAt: r.updated_at.toISOString(),
    };
  }

  async attempts(group: string, query: AttemptQuery = {}): Promise<AttemptView[]> {
    const { rows } = await this.pool.query<Record<string, unknown>>(
      `SELECT ${ATTEMPT_COLUMNS} FROM tributary.webhook_attempts a
        WHERE a.group_name = $1
          AND ($2::bigint IS NULL OR a.id < $2)
          AND (NOT $3 OR a.error IS NOT NULL)
          AND ($4::text IS NULL OR a.topic = $4)
          AND ($5::int IS NULL OR a.partition = $5)
          AND ($6::bigint IS NULL OR $6 BETWEEN a.first_offset AND a.last_offset)
        ORDER BY a.id DESC LIMIT $7`,
      [
        group,
        query.before ?? null,
        query.failedOnly ?? false,
        query.topic ?? null,
        query.partition ?? null,
        query.offset ?? null,
        Math.min(1_000, query.limit ?? 100),
      ],
    );
    return rows.map(attemptView);
  }

  /** Dead letters of a group, newest first, each with every attempt logged for its message. */
  async deadLetters(group: string, limit = 100, id?: string): Promise<DeadLetterView[]> {
    const { rows } = await this.pool.query<{
      id: string;
      topic: string;
      partition: number;
      offset: string;
      key: string | null;
      error: string;
      attempts: number;
      created_at: Date;
      attempt_log: (AttemptView & { at: string })[];
    }>(
      `SELECT d.id, d.topic, d.partition, d."offset", d.key, d.error, d.attempts, d.created_at,
              COALESCE((SELECT json_agg(json_build_object(
                          'id', a.id::text, 'webhookId', a.webhook_id, 'kind', a.kind, 'topic', a.topic, 'partition', a.partition,
                          'firstOffset', a.first_offset::text, 'lastOffset', a.last_offset::text, 'messages', a.messages,
                          'attempt', a.attempt, 'status', a.status, 'latencyMs', a.latency_ms, 'error', a.error, 'at', a.created_at)
                          ORDER BY a.id)
                          FROM tributary.webhook_attempts a
                         WHERE a.group_name = d.group_name AND a.topic = d.topic AND a.partition = d.partition
                           AND d."offset" BETWEEN a.first_offset AND a.last_offset), '[]') AS attempt_log
         FROM tributary.dead_letters d
        WHERE d.group_name = $1 AND ($3::bigint IS NULL OR d.id = $3)
        ORDER BY d.id DESC LIMIT $2`,
      [group, Math.min(1_000, limit), id ?? null],
    );
    return rows.map((r) => ({
      id: r.id,
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      key: r.key,
      error: r.error,
      attempts: r.attempts,
      createdAt: r.created_at.toISOString(),
      attemptLog: r.attempt_log.map((a) => ({ ...a, at: new Date(a.at).toISOString() })),
    }));
  }

  /** The dead-lettered message, as the runtime consumed it. */
  async deadLetterMessage(group: string, id: string): Promise<ConsumedMessage | undefined> {
    const { rows } = await this.pool.query<{
      topic: string;
      partition: number;
      offset: string;
      key: string | null;
      envelope: string;
      created_at: Date;
    }>(
      `SELECT topic, partition, "offset", key, envelope::text AS envelope, created_at
         FROM tributary.dead_letters WHERE group_name = $1 AND id = $2`,
      [group, id],
    );
    if (!rows.length) return undefined;
    const r = rows[0];
    return {
      topic: r.topic,
      partition: r.partition,
      offset: BigInt(r.offset),
      key: r.key,
      envelope: r.envelope,
      appendedAt: r.created_at,
    };
  }

  /**
   * Runs `fn` while holding a claim on one dead letter (a session advisory lock on its own connection),
   * so two replays of it cannot both deliver it. Undefined when another replay holds it.
   */
  async withDeadLetterClaim<T>(id: string, fn: () => Promise<T>): Promise<{ value: T } | undefined> {
    const client = await this.pool.connect();
    let keepsLock = false; // a connection whose unlock failed is closed, not pooled still holding the claim
    try {
      const { rows } = await client.query<{ ok: boolean }>(
        `SELECT pg_try_advisory_lock(hashtext('tributary.dead_letter'), hashtext($1)) AS ok`,
        [id],
      );
      if (!rows[0].ok) return undefined;
      keepsLock = true;
      try {
        return { value: await fn() };
      } finally {
        await client.query(`SELECT pg_advisory_unlock(hashtext('tributary.dead_letter'), hashtext($1))`, [id]);
        keepsLock = false;
      }
    } finally {
      client.release(keepsLock);
    }
  }

  async deleteDeadLetter(group: string, id: string): Promise<void> {
    await this.pool.query(`DELETE FROM tributary.dead_letters WHERE group_name = $1 AND id = $2`, [group, id]);
  }

  /** Retained messages of one partition in [from, to], in offset order. */
  async range(topic: string, partition: number, from: bigint, to: bigint, limit: number): Promise<ConsumedMessage[]> {
    const last = to < from + BigInt(limit) - 1n ? to : from + BigInt(limit) - 1n;
    const { rows } = await this.pool.query<Record<string, unknown>>(batchesInRange(BATCH_COLUMNS), [
      topic,
      partition,
      String(from),
      String(last + 1n),
    ]);
    return unpackBatches(rows, (offset) => offset >= from && offset <= last).map(consumedMessage);
  }

  /** Retained messages of the group's topics appended at or after `since`, by topic, partition and offset. */
  async since(topics: string[], since: Date, limit: number): Promise<ConsumedMessage[]> {
    // Each batch holds at least one message, so `limit` batches hold enough.
    const { rows } = await this.pool.query<Record<string, unknown>>(
      `SELECT ${BATCH_COLUMNS} FROM tributary.message_batches b
        WHERE b.topic LIKE ANY($1::text[]) AND b.appended_at >= $2
        ORDER BY b.topic, b.partition, b.last_offset LIMIT $3`,
      [topics.map(globToLike), since.toISOString(), limit],
    );
    return unpackBatches(rows, () => true)
      .slice(0, limit)
      .map(consumedMessage);
  }
}

function consumedMessage(m: BatchMessage): ConsumedMessage {
  return { topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, envelope: m.envelope, appendedAt: m.appendedAt };
}

function attemptView(r: Record<string, unknown>): AttemptView {
  return {
    id: String(r.id),
    webhookId: r.webhook_id as string,
    kind: r.kind as string,
    topic: r.topic as string,
    partition: r.partition as number,
    firstOffset: String(r.first_offset),
    lastOffset: String(r.last_offset),
    messages: r.messages as number,
    attempt: r.attempt as number,
    status: r.status as number | null,
    latencyMs: r.latency_ms as number,
    error: r.error as string | null,
    at: (r.created_at as Date).toISOString(),
  };
}

/** Only origin and path go to the database: user info and query strings may carry credentials. */
export function storedUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
