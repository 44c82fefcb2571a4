import type { ColumnSchema } from '@tributary/schema-registry';
import type { TargetTable } from './target-table';

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
  /** Creates the offsets table if needed. */
  prepare(): Promise<void>;
  /** The stored next offset of a partition, locked until commit. */
  lockOffset(group: string, topic: string, partition: number): Promise<bigint | undefined>;
  saveOffset(group: string, topic: string, partition: number, nextOffset: bigint): Promise<void>;
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
  close(): Promise<void>;
}

/** An error that no retry can fix until someone changes the schema or the data. */
export class IncompatibleTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncompatibleTargetError';
  }
}
