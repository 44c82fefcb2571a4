import type { ColumnSchema } from '@tributary/schema-registry';
import type { KeylessRows } from './keyless-rows';
import type { TargetTable } from './target-table';

/** How long a database sink waits on its target before it gives up on an attempt (and retries). */
export interface TargetTimeouts {
  /** Connecting, up to a session that answers. */
  connectMs: number;
  /** One statement, on the server (Postgres statement_timeout, MariaDB max_statement_time); and, plus a margin, on the client. */
  statementMs: number;
  /** Waiting for a lock (on a target table, a row): Postgres lock_timeout, MySQL lock_wait_timeout and innodb_lock_wait_timeout. */
  lockMs: number;
  /** Postgres idle_in_transaction_session_timeout: a sink that went away mid-transaction frees its locks. */
  idleInTransactionMs: number;
}

export const DEFAULT_TARGET_TIMEOUTS: TargetTimeouts = {
  connectMs: 10_000,
  statementMs: 60_000,
  lockMs: 10_000,
  idleInTransactionMs: 60_000,
};

/**
 * A server that accepts a statement and never answers gets no server-side timeout: the client gives up
 * this long after the server's own statement timeout should have answered.
 */
export const CLIENT_GUARD_MS = 5_000;

/** A partition's position as the target stores it. */
export interface StoredOffset {
  nextOffset: bigint;
  /** The incarnation of the topic the offset belongs to; null in rows written before incarnations were stored. */
  topicIncarnation: string | null;
}

export interface TargetColumn {
  name: string;
  /** The target's own type name, for messages. */
  type: string;
}

/**
 * What a database sink needs from one kind of target database. All calls between begin() and
 * commit() run in one transaction on one connection.
 */
export interface TargetDialect {
  readonly kind: 'postgres' | 'mysql';
  begin(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /** Creates the offsets table if needed, and adds the columns later versions store to an existing one. */
  prepare(): Promise<void>;
  /** The stored position of a partition, locked until commit. */
  lockOffset(group: string, topic: string, partition: number): Promise<StoredOffset | undefined>;
  saveOffset(group: string, topic: string, partition: number, position: StoredOffset): Promise<void>;
  /** begin() and lockOffset(), in one round trip where the target allows it. */
  beginAndLockOffset(group: string, topic: string, partition: number): Promise<StoredOffset | undefined>;
  /** saveOffset() and commit(), in one round trip where the target allows it. */
  saveOffsetAndCommit(group: string, topic: string, partition: number, position: StoredOffset): Promise<void>;
  /** Why this target cannot hold the table and column names exactly as given, or undefined if it can. */
  nameProblem(table: TargetTable, columns: string[]): string | undefined;
  /** Existing columns of a target table, or undefined if it does not exist. */
  describe(table: TargetTable): Promise<TargetColumn[] | undefined>;
  createTable(table: TargetTable, columns: ColumnSchema[], primaryKey: string[]): Promise<void>;
  addColumn(table: TargetTable, column: ColumnSchema): Promise<void>;
  upsert(table: TargetTable, columns: ColumnSchema[], primaryKey: string[], rows: Record<string, unknown>[]): Promise<void>;
  delete(table: TargetTable, key: ColumnSchema[], keys: Record<string, unknown>[]): Promise<void>;
  truncate(table: TargetTable): Promise<void>;
  /** Every row's key columns as text (to find the rows of one partition). */
  keyTexts(table: TargetTable, key: ColumnSchema[]): Promise<(string | null)[][]>;
  /** Ends the session gracefully, or at once when the server does not answer. */
  close(): Promise<void>;
  /** Ends the connection at once, without a word to the server: every call in progress rejects. */
  destroy(): void;
  /** For a source table without a key: a table without a primary key (or any key). */
  createKeylessTable(table: TargetTable, columns: ColumnSchema[]): Promise<void>;
  /** Rows of a table without a key: plain inserts, and updates and deletes of ONE row told apart only by content. */
  readonly keyless: KeylessRows;
}

/** A TCP socket ended at once; `end` ends it gracefully, or at once if that takes longer than `graceMs`. */
export async function endOrDestroy(end: () => Promise<void>, destroy: () => void, graceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
  await Promise.race([end().catch(() => undefined), late.then(destroy)]);
  clearTimeout(timer);
}

/**
 * Runs `work`; an abort meanwhile calls `cancel`, which must make `work` reject (by destroying the
 * connection it waits on), so a caller that stops never waits on a target that does not answer.
 */
export async function unlessAborted<T>(signal: AbortSignal | undefined, cancel: () => void, work: () => Promise<T>): Promise<T> {
  if (!signal) return work();
  signal.throwIfAborted();
  signal.addEventListener('abort', cancel, { once: true });
  try {
    return await work();
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}

/** An error that no retry can fix until someone changes the schema or the data. */
export class IncompatibleTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncompatibleTargetError';
  }
}
