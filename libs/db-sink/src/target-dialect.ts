import type { ColumnSchema } from '@tributary/schema-registry';

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
  /** Existing columns of a target table, or undefined if it does not exist. */
  describe(table: string): Promise<TargetColumn[] | undefined>;
  createTable(table: string, columns: ColumnSchema[], primaryKey: string[]): Promise<void>;
  addColumn(table: string, column: ColumnSchema): Promise<void>;
  upsert(table: string, columns: ColumnSchema[], primaryKey: string[], rows: Record<string, unknown>[]): Promise<void>;
  delete(table: string, key: ColumnSchema[], keys: Record<string, unknown>[]): Promise<void>;
  truncate(table: string): Promise<void>;
  /** Every row's key columns as text (to find the rows of one partition). */
  keyTexts(table: string, key: ColumnSchema[]): Promise<(string | null)[][]>;
  close(): Promise<void>;
}

/** An error that no retry can fix until someone changes the schema or the data. */
export class IncompatibleTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncompatibleTargetError';
  }
}
