import type { Client, Pool } from 'pg';
import type { SourceConfig } from '@tributary/config';
import { connectSource } from '@tributary/pg-source';
import { ActiveBackfillExists, BackfillRepository } from './backfill.repository';
import type { Backfill } from './backfill-types';
import { SnapshotTable, SnapshotTableError } from './snapshot-table';
import { DEFAULT_CHUNK_SIZE } from './snapshotter';
import { FILTER_CHECK_TIMEOUT_MS, UnsafeWhereError } from './filter-check';
import { explainRows, InvalidWhereError } from './where-validator';

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
 * IMMUTABLE functions (see explainRows); no backfill of the same table and condition may be active (the
 * database's unique index decides, so two requests at once cannot both pass). Identifiers are only ever
 * used quoted, after the table was found in the catalog.
 */
export async function planBackfill(pool: Pool, source: SourceConfig, request: BackfillRequest): Promise<Backfill> {
  const [schema, table] = request.table.split('.');
  const captured = source.tables.some((t) => t.schema === schema && (t.table === table || t.table === '*'));
  if (!captured) {
    throw new BackfillRequestError(400, 'table', `${request.table} is not captured by source "${source.name}"`);
  }
  const where = request.where?.trim() ? request.where.trim() : null;
  const estimate = await estimateOnSource(source, request.table, where);
  try {
    return await new BackfillRepository(pool).create({
      source: source.name,
      schema,
      table,
      where,
      chunkSize: request.chunkSize ?? source.snapshotChunkSize ?? DEFAULT_CHUNK_SIZE,
      reason: 'api',
      estimatedTotal: estimate,
    });
  } catch (error) {
    if (!(error instanceof ActiveBackfillExists)) throw error;
    const condition = where ? ' with the same condition' : '';
    const { active } = error;
    throw new BackfillRequestError(
      409,
      'table',
      active
        ? `backfill ${active.id} of ${request.table}${condition} is already ${active.status}`
        : `a backfill of ${request.table}${condition} was active a moment ago: try again`,
    );
  }
}

/** Checks the table and the condition on the source; the planner's estimate of the rows to read. */
async function estimateOnSource(source: SourceConfig, qualified: string, where: string | null): Promise<number> {
  const [schema, table] = qualified.split('.');
  const client = await connectSource(source, `tributary-backfill-check:${source.name}`);
  try {
    const snapshotTable = await loadTable(client, schema, table);
    if (!(await snapshotTable.inPublication(client, source.publication))) {
      throw new BackfillRequestError(
        409,
        'table',
        `${qualified} is not in publication ${source.publication} yet: start the capture of source "${source.name}" first`,
      );
    }
    try {
      return await explainRows(client, snapshotTable, where);
    } catch (error) {
      throw refusalOfWhere(error, qualified);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function loadTable(client: Client, schema: string, table: string): Promise<SnapshotTable> {
  try {
    return await SnapshotTable.load(client, schema, table);
  } catch (error) {
    if (error instanceof SnapshotTableError) throw new BackfillRequestError(400, 'table', error.message);
    throw error;
  }
}

/** What checking the condition failed with, as the request's refusal (other errors as they are). */
function refusalOfWhere(error: unknown, qualified: string): unknown {
  if (error instanceof InvalidWhereError) return new BackfillRequestError(400, 'where', error.message);
  if (error instanceof UnsafeWhereError) return new BackfillRequestError(422, 'where', error.message);
  const code = (error as { code?: string }).code;
  if (code === LOCK_NOT_AVAILABLE) {
    return new BackfillRequestError(409, 'table', `${qualified} is locked by another session: try again later`);
  }
  if (code === QUERY_CANCELED) {
    return new BackfillRequestError(422, 'where', `took longer than ${FILTER_CHECK_TIMEOUT_MS} ms to check`);
  }
  return error;
}
