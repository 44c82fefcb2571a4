import type { ClientBase, Pool } from 'pg';
import type { Backfill, BackfillStatus, BackfillView } from './backfill-types';

const COLUMNS = `id::int AS id, source, schema_name, table_name, where_clause, chunk_size, reason, status, run_id, last_key,
  chunks_done, rows_done::float8 AS rows_done, rows_emitted::float8 AS rows_emitted, estimated_total::float8 AS estimated_total,
  error, created_at, started_at, finished_at, updated_at`;

/** The unique index that allows one active backfill per table and condition (migration BackfillsOneActive). */
const ONE_ACTIVE_INDEX = 'backfills_one_active_idx';
const UNIQUE_VIOLATION = '23505';

/** A backfill of the same table and condition is already pending or running (`active`, unless it ended meanwhile). */
export class ActiveBackfillExists extends Error {
  constructor(readonly active: { id: number; status: BackfillStatus } | undefined) {
    super(active ? `backfill ${active.id} is already ${active.status}` : 'a backfill of the same table and condition is active');
    this.name = 'ActiveBackfillExists';
  }
}

/** Where a chunk's backfill stands, to tell a dropped chunk from a lost one. */
export interface BackfillProgress {
  status: BackfillStatus;
  runId: string | null;
  chunksDone: number;
}

export interface NewBackfill {
  source: string;
  schema: string;
  table: string;
  where?: string | null;
  chunkSize: number;
  reason: 'initial' | 'api';
  estimatedTotal?: number | null;
}

/** `tributary.backfills`: one row per snapshot of a table, with its progress. */
export class BackfillRepository {
  constructor(private readonly pool: Pool) {}

  /** Records a pending backfill; ActiveBackfillExists if one of the same table and condition is active. */
  async create(b: NewBackfill): Promise<Backfill> {
    const where = b.where ?? null;
    try {
      const { rows } = await this.pool.query<Record<string, unknown>>(
        `INSERT INTO tributary.backfills (source, schema_name, table_name, where_clause, chunk_size, reason, estimated_total)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
        [b.source, b.schema, b.table, where, b.chunkSize, b.reason, b.estimatedTotal ?? null],
      );
      return toBackfill(rows[0]);
    } catch (error) {
      const { code, constraint } = error as { code?: string; constraint?: string };
      if (code !== UNIQUE_VIOLATION || constraint !== ONE_ACTIVE_INDEX) throw error;
      throw new ActiveBackfillExists(await this.activeOf(b.source, b.schema, b.table, where));
    }
  }

  /** The active backfill of a table with exactly this condition, if any. */
  private async activeOf(
    source: string,
    schema: string,
    table: string,
    where: string | null,
  ): Promise<{ id: number; status: BackfillStatus } | undefined> {
    const { rows } = await this.pool.query<{ id: number; status: BackfillStatus }>(
      `SELECT id::int AS id, status FROM tributary.backfills
        WHERE source = $1 AND schema_name = $2 AND table_name = $3 AND where_clause IS NOT DISTINCT FROM $4
          AND status IN ('pending', 'running')`,
      [source, schema, table, where],
    );
    return rows[0];
  }

  /**
   * A backfill per table unless one is already pending or running for it (so that re-running the
   * source preparation after a crash does not queue the same table twice). Returns the new ids.
   */
  static async createInitial(
    client: ClientBase | Pool,
    source: string,
    tables: { schema: string; table: string }[],
    chunkSize: number,
  ): Promise<{ id: number; schema: string; table: string }[]> {
    if (tables.length === 0) return [];
    const { rows } = await client.query<{ id: number; schema: string; table: string }>(
      `INSERT INTO tributary.backfills (source, schema_name, table_name, chunk_size, reason)
       SELECT $1, t.schema_name, t.table_name, $4, 'initial'
         FROM unnest($2::text[], $3::text[]) AS t(schema_name, table_name)
        WHERE NOT EXISTS (SELECT 1 FROM tributary.backfills b
                           WHERE b.source = $1 AND b.schema_name = t.schema_name AND b.table_name = t.table_name
                             AND b.status IN ('pending', 'running'))
       ON CONFLICT DO NOTHING
       RETURNING id::int AS id, schema_name AS schema, table_name AS table`,
      [source, tables.map((t) => t.schema), tables.map((t) => t.table), chunkSize],
    );
    return rows;
  }

  /** Cancels every pending or running backfill of a source (a resync snapshots every table again). */
  static async cancelActive(client: ClientBase, source: string): Promise<number> {
    const { rowCount } = await client.query(
      `UPDATE tributary.backfills SET status = 'cancelled', finished_at = now(), updated_at = now()
        WHERE source = $1 AND status IN ('pending', 'running')`,
      [source],
    );
    return rowCount ?? 0;
  }

  /** A pending backfill with nothing to read: done at once, with no chunk. */
  async finishEmpty(id: number): Promise<void> {
    await this.pool.query(
      `UPDATE tributary.backfills
          SET status = 'done', estimated_total = 0, started_at = now(), finished_at = now(), updated_at = now()
        WHERE id = $1 AND status = 'pending'`,
      [id],
    );
  }

  async get(source: string, id: number): Promise<Backfill | undefined> {
    const { rows } = await this.pool.query<Record<string, unknown>>(
      `SELECT ${COLUMNS} FROM tributary.backfills WHERE source = $1 AND id = $2`,
      [source, id],
    );
    return rows.length ? toBackfill(rows[0]) : undefined;
  }

  async list(source: string, limit = 100): Promise<Backfill[]> {
    const { rows } = await this.pool.query<Record<string, unknown>>(
      `SELECT ${COLUMNS} FROM tributary.backfills WHERE source = $1 ORDER BY id DESC LIMIT $2`,
      [source, limit],
    );
    return rows.map(toBackfill);
  }

  /** Every backfill (any source), for metrics. */
  async active(): Promise<Backfill[]> {
    const { rows } = await this.pool.query<Record<string, unknown>>(
      `SELECT ${COLUMNS} FROM tributary.backfills
        WHERE status IN ('pending', 'running') OR finished_at > now() - interval '1 hour' ORDER BY id`,
    );
    return rows.map(toBackfill);
  }

  /** The next backfill to work on: a running one first (resumed after a restart), then the oldest pending. */
  async next(source: string, skip: number[]): Promise<Backfill | undefined> {
    const { rows } = await this.pool.query<Record<string, unknown>>(
      `SELECT ${COLUMNS} FROM tributary.backfills
        WHERE source = $1 AND status IN ('running', 'pending') AND NOT (id = ANY($2::bigint[]))
        ORDER BY status = 'running' DESC, id
        LIMIT 1`,
      [source, skip],
    );
    return rows.length ? toBackfill(rows[0]) : undefined;
  }

  async status(id: number): Promise<BackfillStatus | undefined> {
    const { rows } = await this.pool.query<{ status: BackfillStatus }>('SELECT status FROM tributary.backfills WHERE id = $1', [
      id,
    ]);
    return rows[0]?.status;
  }

  /** Marks the backfill running under a new snapshotter run; false if it is no longer pending or running. */
  async start(id: number, runId: string, estimatedTotal: number | null): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE tributary.backfills
          SET status = 'running', run_id = $2, started_at = COALESCE(started_at, now()),
              estimated_total = COALESCE($3, estimated_total), error = NULL, updated_at = now()
        WHERE id = $1 AND status IN ('pending', 'running')`,
      [id, runId, estimatedTotal],
    );
    return rowCount === 1;
  }

  async fail(id: number, error: string): Promise<void> {
    await this.pool.query(
      `UPDATE tributary.backfills SET status = 'failed', error = $2, finished_at = now(), updated_at = now()
        WHERE id = $1 AND status IN ('pending', 'running')`,
      [id, error.slice(0, 2000)],
    );
  }

  /** Cancels a pending or running backfill; undefined if there is none with that id, else the record after. */
  async cancel(source: string, id: number): Promise<{ cancelled: boolean; backfill?: Backfill }> {
    const { rows } = await this.pool.query<Record<string, unknown>>(
      `UPDATE tributary.backfills SET status = 'cancelled', finished_at = now(), updated_at = now()
        WHERE source = $1 AND id = $2 AND status IN ('pending', 'running') RETURNING ${COLUMNS}`,
      [source, id],
    );
    if (rows.length) return { cancelled: true, backfill: toBackfill(rows[0]) };
    return { cancelled: false, backfill: await this.get(source, id) };
  }

  /**
   * The progress of one finished chunk, written by the capture in the platform transaction that appends
   * the chunk's messages (with the source checkpoint). False if the backfill is no longer running under
   * this run (cancelled, or a newer run), in which case the chunk must be dropped.
   */
  static async chunkDone(
    client: ClientBase,
    c: {
      id: number;
      runId: string;
      chunk: number;
      lastKey: string[] | null;
      rowsRead: number;
      rowsEmitted: number;
      last: boolean;
    },
  ): Promise<boolean> {
    const { rowCount } = await client.query(
      `UPDATE tributary.backfills
          SET last_key = COALESCE($4::jsonb, last_key), chunks_done = $3, rows_done = rows_done + $5,
              rows_emitted = rows_emitted + $6, status = CASE WHEN $7 THEN 'done' ELSE status END,
              finished_at = CASE WHEN $7 THEN now() ELSE finished_at END, updated_at = now()
        WHERE id = $1 AND run_id = $2 AND status = 'running' AND chunks_done = $3 - 1`,
      [c.id, c.runId, c.chunk, c.lastKey ? JSON.stringify(c.lastKey) : null, c.rowsRead, c.rowsEmitted, c.last],
    );
    return rowCount === 1;
  }

  /** Where the backfill stands, read in the caller's transaction (`client`); undefined if it is gone. */
  static async progress(client: ClientBase, id: number): Promise<BackfillProgress | undefined> {
    const { rows } = await client.query<BackfillProgress>(
      'SELECT status, run_id AS "runId", chunks_done AS "chunksDone" FROM tributary.backfills WHERE id = $1',
      [id],
    );
    return rows[0];
  }
}

function toBackfill(r: Record<string, unknown>): Backfill {
  return {
    id: r.id as number,
    source: r.source as string,
    schema: r.schema_name as string,
    table: r.table_name as string,
    where: r.where_clause as string | null,
    chunkSize: r.chunk_size as number,
    reason: r.reason as string,
    status: r.status as BackfillStatus,
    runId: r.run_id as string | null,
    lastKey: r.last_key as string[] | null,
    chunksDone: r.chunks_done as number,
    rowsDone: r.rows_done as number,
    rowsEmitted: r.rows_emitted as number,
    estimatedTotal: r.estimated_total as number | null,
    error: r.error as string | null,
    createdAt: r.created_at as Date,
    startedAt: r.started_at as Date | null,
    finishedAt: r.finished_at as Date | null,
    updatedAt: r.updated_at as Date,
  };
}

/** The record with percent, rate and ETA, for the API and the CLI. */
export function backfillView(b: Backfill, now = new Date()): BackfillView {
  const end = b.finishedAt ?? (b.status === 'running' ? now : b.updatedAt);
  const seconds = b.startedAt ? Math.max(0.001, (end.getTime() - b.startedAt.getTime()) / 1000) : null;
  const rate = seconds !== null && b.rowsDone > 0 ? Math.round(b.rowsDone / seconds) : null;
  const total = b.estimatedTotal !== null ? Math.max(b.estimatedTotal, b.rowsDone) : null;
  const percent =
    b.status === 'done' ? 100 : total ? Math.min(99.9, Math.round((b.rowsDone / total) * 1000) / 10) : total === 0 ? 0 : null;
  const eta =
    b.status === 'running' && rate && total !== null
      ? Math.max(0, Math.round((total - b.rowsDone) / rate))
      : b.status === 'done'
        ? 0
        : null;
  return {
    id: b.id,
    source: b.source,
    table: `${b.schema}.${b.table}`,
    where: b.where,
    chunkSize: b.chunkSize,
    reason: b.reason,
    status: b.status,
    rowsDone: b.rowsDone,
    rowsEmitted: b.rowsEmitted,
    estimatedTotal: b.estimatedTotal,
    percent,
    rowsPerSecond: rate,
    etaSeconds: eta,
    chunksDone: b.chunksDone,
    lastKey: b.lastKey,
    error: b.error,
    createdAt: b.createdAt.toISOString(),
    startedAt: b.startedAt?.toISOString() ?? null,
    finishedAt: b.finishedAt?.toISOString() ?? null,
    updatedAt: b.updatedAt.toISOString(),
  };
}
