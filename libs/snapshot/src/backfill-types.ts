export type BackfillStatus = 'pending' | 'running' | 'done' | 'failed' | 'cancelled';
export const ACTIVE_STATUSES: BackfillStatus[] = ['pending', 'running'];

/** A backfill record as stored in `tributary.backfills`. */
export interface Backfill {
  id: number;
  source: string;
  schema: string;
  table: string;
  where: string | null;
  chunkSize: number;
  /** `initial` (the table was newly captured) or `api`. */
  reason: string;
  status: BackfillStatus;
  runId: string | null;
  /** Text values of the key of the last row of the last finished chunk, in key order. */
  lastKey: string[] | null;
  chunksDone: number;
  /** Rows read from the source. */
  rowsDone: number;
  /** Rows appended as `r` messages (rows read minus rows superseded by a change in their chunk's window). */
  rowsEmitted: number;
  estimatedTotal: number | null;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

/** What the API shows: the record plus rates derived from it. */
export interface BackfillView {
  id: number;
  source: string;
  table: string;
  where: string | null;
  chunkSize: number;
  reason: string;
  status: BackfillStatus;
  rowsDone: number;
  rowsEmitted: number;
  estimatedTotal: number | null;
  /** 0..100, from rows done and the estimate (100 when done). */
  percent: number | null;
  rowsPerSecond: number | null;
  /** Estimated seconds left, while running. */
  etaSeconds: number | null;
  chunksDone: number;
  lastKey: string[] | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
}
