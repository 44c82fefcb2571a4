import { Logger } from '@nestjs/common';
import type { ConsumedMessage, Sink, SinkEvent } from '@tributary/sink-contract';
import type { ColumnSchema, TableSchema, TableSchemaRepository } from '@tributary/schema-registry';
import type { BuiltinTransform } from '@tributary/config';
import type { RowChange } from './change';
import { routedTable, shapedColumns } from './shaped-columns';
import { planChanges } from './change-plan';
import { changeOf } from './snapshot-change';
import { keylessEvents, type SkippedChange } from './keyless-events';
import { applyStep, type StepTable } from './step-apply';
import type { StoredOffset, TargetDialect } from './target-dialect';
import { IncompatibleTargetError } from './target-dialect';
import { TargetPool } from './target-pool';
import type { TargetTable } from './target-table';
import { describeTargetTable } from './target-table';

export interface TableMapping {
  source: { schema: string; table: string };
  /** Default: the source table's name as one identifier, in the dialect's default schema. */
  target?: TargetTable;
  include?: string[];
  exclude?: string[];
}

export interface DatabaseSinkOptions {
  group: string;
  /** Only these source tables, mapped; all tables under their own names when omitted. */
  tables?: TableMapping[];
  autoCreate: boolean;
  addColumns: boolean;
  /**
   * Records what the sink could not apply as the source did (a group event): changes of a keyless
   * table that cannot be applied are skipped and reported here, never retried.
   */
  report?: (event: SinkEvent) => Promise<void>;
  /** Deliver calls (each for another partition) applied at once, each on a target session of its own. Default 4. */
  concurrency?: number;
  /** The group's built-in transforms: the target's columns are the source's as they leave them (shaped-columns.ts). */
  transforms?: BuiltinTransform[];
}

/** Four sessions keep a 2-core target busy while each waits on its own commit, without crowding it. */
export const DEFAULT_SINK_CONCURRENCY = 4;

interface ResolvedTable extends StepTable {
  source: { schema: string; table: string };
  excluded: Set<string>;
}

/**
 * Keeps a Postgres or MySQL/MariaDB database in sync, exactly once: each batch (one partition's
 * messages in offset order) is applied in one target transaction together with the partition's next
 * offset, stored in the target itself; messages below the stored offset are skipped, so a redelivered
 * batch changes nothing.
 */
export class DatabaseSink implements Sink {
  readonly kind: string;
  /** A target that is down or does not fit is waited for, never skipped. */
  readonly blockOnFailure = true;
  private readonly logger: Logger;
  /** How many deliver calls, each for a different partition, may run at once. */
  readonly concurrency: number;
  private readonly resolved = new Map<string, ResolvedTable | null>();
  /** Resolutions made before a session failed: looked up again before their table's next batch. */
  private readonly stale = new Set<string>();
  /** Resolution (and the DDL it may run) one table at a time, so concurrent batches never race on it. */
  private resolving: Promise<void> = Promise.resolve();
  private readonly pool: TargetPool;

  constructor(
    /** Opens a connection; an abort of `signal` must end the attempt at once. */
    private readonly connect: (signal?: AbortSignal) => Promise<TargetDialect>,
    private readonly schemas: TableSchemaRepository,
    private readonly options: DatabaseSinkOptions,
    kind: 'postgres' | 'mysql',
  ) {
    this.kind = kind;
    this.logger = new Logger(`Sink ${options.group}`);
    this.concurrency = options.concurrency ?? DEFAULT_SINK_CONCURRENCY;
    this.pool = new TargetPool(connect, this.concurrency, () => {
      for (const id of this.resolved.keys()) this.stale.add(id);
    });
  }

  /**
   * An abort of `context.signal` (the runner stops) destroys the connection: a target that hangs (a lock
   * held on a table, a server that never answers) never holds up a stop. Nothing is half-applied: the
   * target transaction did not commit, so the batch is delivered again, whole, by the next owner.
   */
  async deliver(batch: ConsumedMessage[], context?: { signal?: AbortSignal }): Promise<void> {
    if (batch.length === 0) return;
    await this.pool.use(context?.signal, (db) => this.applyBatch(db, batch));
  }

  private async applyBatch(db: TargetDialect, batch: ConsumedMessage[]): Promise<void> {
    const { topic, partition, topicIncarnation } = batch[0];
    try {
      const changes = batch.map(changeOf);
      // Target DDL (create table, add column) before the batch's transaction: MySQL commits implicitly
      // on DDL, which would end the transaction that must hold the rows and the offset together.
      await this.resolveTables(db, changes);
      const stored = await db.beginAndLockOffset(this.options.group, topic, partition);
      const from = resumeOffset(stored, topicIncarnation);
      const fresh = from === undefined ? batch : batch.filter((m) => m.offset >= from.offset);
      let skipped: SkippedChange[] = [];
      if (fresh.length || from?.stamp) {
        if (fresh.length) {
          skipped = await this.apply(
            db,
            batch.map((m, i) => ({ offset: m.offset, change: changes[i] })).filter((c) => c.offset >= (from?.offset ?? c.offset)),
            { partition, partitions: batch[0].partitions ?? 1 },
          );
        }
        const next = fresh.length ? fresh[fresh.length - 1].offset + 1n : (from?.offset as bigint);
        await db.saveOffsetAndCommit(this.options.group, topic, partition, {
          nextOffset: next,
          topicIncarnation: topicIncarnation ?? null,
        });
      } else {
        await db.commit();
      }
      await this.reportSkipped(topic, partition, skipped);
    } catch (error) {
      // Any other failure (a timeout, a lost connection) may leave the session in any state: the pool
      // closes it, which rolls the transaction back, and the next attempt reconnects.
      if (error instanceof IncompatibleTargetError) await db.rollback();
      throw error;
    }
  }

  /** Where the target says a partition resumes, so a restart skips what the target already holds. */
  async storedPosition(topic: string, partition: number, signal?: AbortSignal): Promise<StoredOffset | undefined> {
    return this.pool.use(signal, async (db) => {
      const stored = await db.beginAndLockOffset(this.options.group, topic, partition);
      await db.commit();
      return stored;
    });
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async resolveTables(db: TargetDialect, changes: RowChange[]): Promise<void> {
    for (const c of changes) {
      if (!this.needsResolution(c)) continue;
      const done = this.resolving.then(async () => {
        // Another batch may have resolved it while this one waited.
        if (!this.needsResolution(c)) return;
        await this.resolve(db, c);
        this.stale.delete(tableId(c));
      });
      this.resolving = done.catch(() => undefined);
      await done;
    }
  }

  /** First sight of the table, a session failed since, or a column it did not have (the source table changed). */
  private needsResolution(c: RowChange): boolean {
    const id = tableId(c);
    const known = this.resolved.get(id);
    if (known === undefined || this.stale.has(id)) return true;
    if (known && c.after) for (const k in c.after) if (!known.columns.has(k) && !known.excluded.has(k)) return true;
    return false;
  }

  /** Applies the changes in the open transaction; returns those of keyless tables that could not be applied. */
  private async apply(
    db: TargetDialect,
    changes: { offset: bigint; change: RowChange }[],
    where: { partition: number; partitions: number },
  ): Promise<SkippedChange[]> {
    // Looked up several times per change, and a batch's changes are mostly of one table (and route): the last one is kept.
    let last: RowChange | undefined;
    let lastTable: ResolvedTable | undefined;
    const table = (c: RowChange) => {
      if (!last || c.table !== last.table || c.schema !== last.schema || c.source !== last.source || c.route !== last.route) {
        lastTable = this.resolved.get(tableId(c)) ?? undefined;
        last = c;
      }
      return lastTable;
    };
    // Steps carry the source table's own resolution: two source tables mapped to one target keep their own columns.
    const steps = planChanges(
      changes.map(({ change }) => this.project(change, table(change))),
      table,
      (c) => {
        const t = table(c);
        if (!t || t.keyless) return t ? undefined : 'null';
        const keyOf = (k: string) => String(c.after?.[k] ?? c.key?.[k]);
        // One column's text is its key as it is; several are told apart as a JSON list.
        return t.primaryKey.length === 1 ? keyOf(t.primaryKey[0]) : JSON.stringify(t.primaryKey.map(keyOf));
      },
    );
    const skipped: SkippedChange[] = [];
    for (const step of steps) {
      const problem = await applyStep(db, step, where, this.logger);
      if (problem) skipped.push({ ...problem, source: step.table.source, offset: changes[problem.at].offset });
    }
    return skipped;
  }

  /** Logs and records (as group events) the keyless changes a committed batch skipped; the batch stays delivered. */
  private async reportSkipped(topic: string, partition: number, skipped: SkippedChange[]): Promise<void> {
    for (const event of keylessEvents(topic, partition, skipped)) {
      this.logger.warn(`${topic}[${partition}] ${event.detail}`);
      await this.options.report?.(event).catch((e: Error) => this.logger.error(`recording a group event failed: ${e.message}`));
    }
  }

  /**
   * Drops excluded columns (of the old row too for a keyless table, whose rows are matched on what the
   * target holds); unchanged TOAST columns are already absent, so the target keeps them.
   */
  private project(change: RowChange, table: ResolvedTable | undefined): RowChange {
    if (!table) return change;
    const keep = (row: Record<string, unknown> | null) => {
      if (!row || Object.keys(row).every((name) => table.columns.has(name))) return row; // the usual case: no copy
      const kept: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(row)) if (table.columns.has(name)) kept[name] = value;
      return kept;
    };
    const after = keep(change.after);
    const before = table.keyless ? keep(change.before) : change.before;
    return after === change.after && before === change.before ? change : { ...change, after, before };
  }

  /** Finds the mapping and the source shape of a table, creating or widening the target as configured. */
  private async resolve(db: TargetDialect, change: RowChange): Promise<void> {
    const name = describeTargetTable({ schema: change.schema, table: change.table });
    const id = tableId(change);
    const mappings = this.options.tables;
    const mapping = mappings
      ? mappings.find((m) => m.source.schema === change.schema && m.source.table === change.table)
      : { source: { schema: change.schema, table: change.table } };
    if (!mapping) {
      this.resolved.set(id, null);
      return;
    }
    const source = await this.schemaOf(change);
    // A route (the group's) names the target table for this message; the mapping's columns still apply.
    const target = change.route !== undefined ? routedTable(change.route) : (mapping.target ?? { table: change.table });
    const picked = source.columns.filter(
      (c) =>
        (!mapping.include || mapping.include.includes(c.name) || source.primaryKey.includes(c.name)) &&
        !mapping.exclude?.includes(c.name),
    );
    const shaped = shapedColumns(picked, source.primaryKey, this.options.transforms ?? []);
    if ('problem' in shaped) {
      throw new IncompatibleTargetError(`source table ${name} cannot be written to a database sink: ${shaped.problem}`);
    }
    const schema = { columns: shaped.columns, primaryKey: shaped.primaryKey };
    const wanted = shaped.columns;
    const problem = db.nameProblem(
      target,
      wanted.map((c) => c.name),
    );
    if (problem) {
      throw new IncompatibleTargetError(
        `source table ${name} cannot be written to target table ${describeTargetTable(target)}: ${problem} ` +
          '(map it to another name with tables[].target)',
      );
    }
    await this.ensureTarget(db, target, wanted, schema.primaryKey);
    this.resolved.set(id, {
      source: { schema: change.schema, table: change.table },
      target,
      columns: new Map(wanted.map((c) => [c.name, c])),
      excluded: new Set(source.columns.filter((c) => !picked.includes(c)).map((c) => c.name)),
      key: schema.primaryKey.map((k) => wanted.find((c) => c.name === k) as ColumnSchema),
      primaryKey: schema.primaryKey,
      keyless: schema.primaryKey.length === 0,
    });
  }

  /** Creates the target table or adds the columns it lacks, as autoCreate and addColumns allow. */
  private async ensureTarget(db: TargetDialect, target: TargetTable, wanted: ColumnSchema[], primaryKey: string[]) {
    const existing = await db.describe(target);
    const shown = describeTargetTable(target);
    if (!existing) {
      if (!this.options.autoCreate) {
        throw new IncompatibleTargetError(
          `target table ${shown} does not exist and autoCreate is off: create it, then the sink resumes`,
        );
      }
      if (primaryKey.length) await db.createTable(target, wanted, primaryKey);
      else await db.createKeylessTable(target, wanted);
      this.logger.log(`created target table ${shown}`);
    } else {
      const have = new Set(existing.map((c) => c.name));
      for (const column of wanted.filter((c) => !have.has(c.name))) {
        if (!this.options.addColumns) {
          throw new IncompatibleTargetError(`target table ${shown} has no column ${column.name} and addColumns is off`);
        }
        await db.addColumn(target, column);
        this.logger.log(`added column ${column.name} to target table ${shown}`);
      }
    }
  }

  private async schemaOf(change: RowChange): Promise<TableSchema> {
    const schema = await this.schemas.get(change.source, change.schema, change.table);
    if (!schema) throw new Error(`no recorded schema for ${change.source}:${change.schema}.${change.table} yet`);
    return schema;
  }
}

/**
 * Where a batch of the topic incarnation `incarnation` resumes, given what the target stores: from the
 * stored offset when it belongs to the same topic (or to a row stored before incarnations were, taken
 * as this one's once and then stamped: `stamp`); from the batch itself when it belongs to an earlier
 * topic of the same name, deleted and re-created. A batch of a topic older than the stored one is of a
 * topic since deleted: applying it would overwrite the newer topic's rows, so it fails.
 */
function resumeOffset(
  stored: StoredOffset | undefined,
  incarnation: string | undefined,
): { offset: bigint; stamp: boolean } | undefined {
  if (!stored) return undefined;
  if (incarnation === undefined || stored.topicIncarnation === incarnation) return { offset: stored.nextOffset, stamp: false };
  if (stored.topicIncarnation === null) return { offset: stored.nextOffset, stamp: true };
  if (BigInt(stored.topicIncarnation) < BigInt(incarnation)) return undefined;
  throw new Error(
    `this batch belongs to an earlier topic of this name (incarnation ${incarnation}); the target already follows incarnation ${stored.topicIncarnation}`,
  );
}

/** A source table, and the route its changes took: one routed to two target tables is resolved for each. */
function tableId(c: RowChange): string {
  return `${c.source}\u0000${c.schema}\u0000${c.table}\u0000${c.route ?? ''}`;
}
