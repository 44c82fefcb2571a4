import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';

export type AttemptKind = 'delivery' | 'replay';

export interface AttemptRecord {
  group: string;
  webhookId: string;
  topic: string;
  partition: number;
  firstOffset: bigint;
  lastOffset: bigint;
  messages: number;
  attempt: number;
  kind: AttemptKind;
  /** HTTP status, or null when no response came. */
  status: number | null;
  latencyMs: number;
  /** Null on success. */
  error: string | null;
  at: Date;
}

const FLUSH_EVERY_MS = 200;
const FLUSH_AT_ROWS = 1_000;

/**
 * The per-subscription attempt log (tributary.webhook_attempts). Successful attempts are buffered and
 * written in batches off the delivery path (a delivery waits only when a full batch finds the previous
 * write still going, so a slow database bounds the buffer instead of growing it); a failed attempt is
 * written before the failure is reported, so a dead letter always finds its attempts. A crash may lose
 * the last buffered successes (a log, not data).
 */
export class AttemptLog {
  private readonly logger = new Logger('WebhookAttempts');
  private buffer: AttemptRecord[] = [];
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  /** Writes started and not yet finished. */
  private writing = 0;

  constructor(private readonly pool: Pool) {}

  /**
   * Buffers the record. A promise to wait for when `now` is set (resolved once written) or when the
   * buffer is full while a write is still going; undefined otherwise (nothing to wait for).
   */
  record(attempt: AttemptRecord, now = false): Promise<void> | undefined {
    this.buffer.push(attempt);
    if (now) return this.flush();
    if (this.buffer.length >= FLUSH_AT_ROWS) {
      const busy = this.writing > 0;
      const written = this.flush();
      return busy ? written : undefined;
    }
    this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), FLUSH_EVERY_MS);
    return undefined;
  }

  /** Writes what is buffered (in order, after any write in progress). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.buffer;
    this.buffer = [];
    if (rows.length) this.writing++;
    const write = this.flushing.then(() => (rows.length ? this.insert(rows) : undefined));
    this.flushing = write
      .catch((e: Error) => this.logger.warn(`writing ${rows.length} attempt(s) failed: ${e.message}`))
      .finally(() => {
        if (rows.length) this.writing--;
      });
    return this.flushing;
  }

  /** One statement for the batch, its rows as one JSON parameter (cheaper to build than 13 typed arrays). */
  private async insert(rows: AttemptRecord[]): Promise<void> {
    const json = JSON.stringify(
      rows.map((r) => ({
        g: r.group,
        w: r.webhookId,
        t: r.topic,
        p: r.partition,
        f: String(r.firstOffset),
        l: String(r.lastOffset),
        m: r.messages,
        a: r.attempt,
        k: r.kind,
        s: r.status,
        ms: r.latencyMs,
        e: r.error,
        at: r.at.getTime(),
      })),
    );
    await this.pool.query(
      `INSERT INTO tributary.webhook_attempts
         (group_name, webhook_id, topic, partition, first_offset, last_offset, messages, attempt, kind, status, latency_ms, error, created_at)
       SELECT r.g, r.w, r.t, r.p, r.f, r.l, r.m, r.a, r.k, r.s, r.ms, r.e, to_timestamp(r.at / 1000.0)
         FROM json_to_recordset($1::json)
              AS r(g text, w text, t text, p int, f bigint, l bigint, m int, a int, k text, s int, ms int, e text, at float8)`,
      [json],
    );
  }

  /** Deletes a group's attempts older than the retention, in bounded batches. */
  async prune(group: string, retentionMs: number): Promise<number> {
    let total = 0;
    for (let round = 0; round < 100; round++) {
      const { rowCount } = await this.pool.query(
        `DELETE FROM tributary.webhook_attempts WHERE id IN (
           SELECT id FROM tributary.webhook_attempts
            WHERE group_name = $1 AND created_at < now() - make_interval(secs => $2::double precision / 1000)
            ORDER BY id LIMIT 5000)`,
        [group, retentionMs],
      );
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < 5_000) break;
    }
    return total;
  }
}
