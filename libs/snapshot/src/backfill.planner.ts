import type { Pool } from 'pg';
import type { SourceConfig } from '@tributary/config';
import { connectSource } from '@tributary/pg-source';
import { BackfillRepository } from './backfill.repository';
import type { Backfill } from './backfill.types';
import { SnapshotTable, SnapshotTableError } from './snapshot.table';
import { DEFAULT_CHUNK_SIZE } from './snapshotter';
import { FILTER_CHECK_TIMEOUT_MS, UnsafeWhereError } from './filter.check';
import { explainRows, InvalidWhereError } from './where.validator';

const LOCK_NOT_AVAILABLE = '55P03';
const QUERY_CANCELED = '57014';

/** A request the API refuses: the field at fault, why, and the HTTP status. */
export class BackfillRequestError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 422,
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'BackfillRequestError';
  }
}

export interface BackfillRequest {
  /** `schema.table` */
  table: string;
  where?: string | null;
  chunkSize?: number;
}

/**
 * Validates a backfill request against the configuration and the source, then records it as pending
 * for the source's snapshotter: the table must be one the source captures, exist, have a key and be in
 * the publication; `where` must be a single boolean expression over its own columns that calls only
 * IMMUTABLE functions (see explainRows). Identifiers are only ever used quoted, after the table was found in the catalog.
 */
export async function planBackfill(pool: Pool, source: SourceConfig, request: BackfillRequest): Promise<Backfill> {
  const [schema, table] = request.table.split('.');
  const captured = source.tables.some((t) => t.schema === schema && (t.table === table || t.table === '*'));
  if (!captured) {
    throw new BackfillRequestError(400, 'table', `${request.table} is not captured by source "${source.name}"`);
  }
  const where = request.where?.trim() ? request.where.trim() : null;
  const client = await connectSource(source, `tributary-backfill-check:${source.name}`);
  let estimate: number;
  try {
    let snapshotTable: SnapshotTable;
    try {
      snapshotTable = await SnapshotTable.load(client, schema, table);
    } catch (error) {
      if (error instanceof SnapshotTableError) throw new BackfillRequestError(400, 'table', error.message);
      throw error;
    }
    const published = await client.query(
      'SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3',
      [source.publication, schema, table],
    );
    if (!published.rowCount) {
      throw new BackfillRequestError(
        409,
        'table',
        `${request.table} is not in publication ${source.publication} yet: start the capture of source "${source.name}" first`,
      );
    }
    try {
      estimate = await explainRows(client, snapshotTable, where);
    } catch (error) {
      if (error instanceof InvalidWhereError) throw new BackfillRequestError(400, 'where', error.message);
      if (error instanceof UnsafeWhereError) throw new BackfillRequestError(422, 'where', error.message);
      const code = (error as { code?: string }).code;
      if (code === LOCK_NOT_AVAILABLE) {
        throw new BackfillRequestError(409, 'table', `${request.table} is locked by another session: try again later`);
      }
      if (code === QUERY_CANCELED) {
        throw new BackfillRequestError(422, 'where', `took longer than ${FILTER_CHECK_TIMEOUT_MS} ms to check`);
      }
      throw error;
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  const { rows } = await pool.query<{ id: number; status: string }>(
    `SELECT id::int AS id, status FROM tributary.backfills
      WHERE source = $1 AND schema_name = $2 AND table_name = $3 AND where_clause IS NOT DISTINCT FROM $4
        AND status IN ('pending', 'running')`,
    [source.name, schema, table, where],
  );
  if (rows.length) {
    throw new BackfillRequestError(
      409,
      'table',
      `backfill ${rows[0].id} of ${request.table}${where ? ' with the same condition' : ''} is already ${rows[0].status}`,
    );
  }
  return new BackfillRepository(pool).create({
    source: source.name,
    schema,
    table,
    where,
    chunkSize: request.chunkSize ?? source.snapshotChunkSize ?? DEFAULT_CHUNK_SIZE,
    reason: 'api',
    estimatedTotal: estimate,
  });
}
