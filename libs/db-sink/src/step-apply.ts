import type { Logger } from '@nestjs/common';
import type { ColumnSchema } from '@tributary/schema-registry';
import type { Step } from './change-plan';
import type { SkippedChange } from './keyless-events';
import { truncatePartition } from './partition-truncate';
import type { TargetDialect } from './target-dialect';
import { describeTargetTable, type TargetTable } from './target-table';

/** What applying a step needs to know of its table. */
export interface StepTable {
  target: TargetTable;
  columns: Map<string, ColumnSchema>;
  key: ColumnSchema[];
  primaryKey: string[];
  /** No primary key nor replica identity index: rows are appended, and told apart by content. */
  keyless: boolean;
}

/**
 * Applies one step in the open target transaction. For a keyless update or delete that changed
 * nothing, returns why, with the index of its change (`at`): such a change is skipped, not retried.
 */
export async function applyStep(
  db: TargetDialect,
  step: Step<StepTable>,
  where: { partition: number; partitions: number },
  logger: Logger,
): Promise<{ op: 'u' | 'd'; reason: SkippedChange['reason']; at: number } | undefined> {
  const t = step.table;
  const columnsOf = (names: string[]) => names.map((n) => t.columns.get(n)).filter((c): c is ColumnSchema => !!c);
  switch (step.kind) {
    case 'truncate':
      return void (await truncate(db, t, where.partition, where.partitions, logger));
    case 'delete':
      return void (await db.delete(t.target, t.key, step.keys));
    case 'upsert':
      return void (await db.upsert(t.target, columnsOf(step.columns), t.primaryKey, step.rows));
    case 'insert':
      return void (await db.keyless.insert(t.target, columnsOf(step.columns), step.rows));
    case 'noOldRow':
      return { op: step.op, reason: 'noOldRow', at: step.offset };
    case 'updateOne': {
      const set = columnsOf(Object.keys(step.after));
      const found = await db.keyless.updateOne(t.target, columnsOf(Object.keys(step.before)), step.before, set, step.after);
      return found ? undefined : { op: 'u', reason: 'unmatched', at: step.offset };
    }
    case 'deleteOne': {
      const found = await db.keyless.deleteOne(t.target, columnsOf(Object.keys(step.before)), step.before);
      return found ? undefined : { op: 'd', reason: 'unmatched', at: step.offset };
    }
  }
}

async function truncate(db: TargetDialect, t: StepTable, partition: number, partitions: number, logger: Logger) {
  if (partitions <= 1) return db.truncate(t.target);
  // A keyless table's rows all come through partition 0 (a null key): its copy of the truncate is in their order.
  if (t.keyless) return partition === 0 ? db.truncate(t.target) : undefined;
  if (await truncatePartition(db, t.target, t.key, partition, partitions)) return;
  logger.warn(
    `truncate of ${describeTargetTable(t.target)} applied to the whole table: its key types cannot be mapped to partitions, so rows ` +
      `written after the truncate by partitions other than ${partition} may be removed (use one partition for this topic)`,
  );
  await db.truncate(t.target);
}
