import { formatLsn } from '@tributary/pg-source';
import { type AppendRecord, partitionForKey } from '@tributary/topic-log';
import { type ChangeContext, type RenderedChange, renderEnvelope, renderKey, renderTruncate } from './envelope';
import type { PgoutputMessage } from './pgoutput/pgoutput.types';
import type { TableInfo } from './table-info';

/** The source transaction being streamed, as its begin message announced it. */
export interface OpenTransaction {
  xid: number;
  finalLsn: bigint;
  /** finalLsn as `X/Y`, as every envelope of the transaction shows it. */
  commitLsn: string;
  commitTimeMs: number;
  /** Position of the next change within the transaction. */
  seq: number;
  /** Already stored before a crash: its commit is at or before the checkpoint. */
  skip: boolean;
}

export type BeginMessage = Extract<PgoutputMessage, { tag: 'begin' }>;
export type RowChange = Extract<PgoutputMessage, { tag: 'insert' | 'update' | 'delete' | 'truncate' }>;

/** A transaction starting; it is skipped if its commit is before `checkpoint` (stored before a restart). */
export function openTransaction(begin: BeginMessage, checkpoint: bigint): OpenTransaction {
  return {
    xid: begin.xid,
    finalLsn: begin.finalLsn,
    commitLsn: formatLsn(begin.finalLsn),
    commitTimeMs: begin.commitTimeMs,
    seq: 0,
    skip: begin.finalLsn < checkpoint,
  };
}

/** The published tables known so far, by relation oid. */
export interface TableLookup {
  table(oid: number): TableInfo;
  /**
   * False for a published table whose name is not among the source's tables (a captured table renamed
   * while capture lags): its changes are left out.
   */
  captures(oid: number): boolean;
}

/** Sees every routed change with its key: the snapshot seam (WatermarkHandler). */
export interface ChangeObserver {
  observe(oid: number, key: string | null, xid: number, unchanged: readonly string[] | null): void;
}

/**
 * Change routing: turns one row change of a source transaction into the messages to append, each on its
 * table's topic and its key's partition (murmur2 of the key, as Kafka's clients pick it), in the order
 * the source wrote them. A key change becomes a delete under the old key then a create under the new
 * one, so each key's partition sees its own history in order; a truncate concerns every key, so every
 * partition of the table gets it. Pure: no I/O, no clock but the envelope's `ts_ms`; each change takes
 * the transaction's next `seq`.
 */
export class ChangeRouter {
  constructor(
    private readonly tables: TableLookup,
    private readonly observer?: ChangeObserver,
  ) {}

  /** Appends the messages of `message`, a change of `tx` whose WAL record starts at `walStart`, to `out`. */
  route(tx: OpenTransaction, walStart: bigint, lsnText: string, message: RowChange, out: AppendRecord[]): void {
    const ctx = (): ChangeContext => ({
      txId: tx.xid,
      commitLsn: tx.commitLsn,
      commitTimeMs: tx.commitTimeMs,
      lsn: lsnText,
      seq: tx.seq++,
    });
    if (message.tag === 'truncate') {
      for (const oid of message.relationOids) {
        if (!this.tables.captures(oid)) continue;
        const table = this.tables.table(oid);
        const change = renderTruncate(table, ctx());
        for (let p = 0; p < table.partitions; p++) this.push(out, tx, table, change, walStart, p);
      }
      return;
    }
    if (!this.tables.captures(message.relationOid)) return;
    const table = this.tables.table(message.relationOid);
    if (message.tag === 'insert') {
      this.push(out, tx, table, renderEnvelope(table, 'c', null, false, message.newTuple, ctx()), walStart);
    } else if (message.tag === 'delete') {
      this.push(out, tx, table, renderEnvelope(table, 'd', message.oldTuple, message.oldKind === 'K', null, ctx()), walStart);
    } else {
      const keyOnly = message.oldKind === 'K';
      const oldKey = message.oldTuple ? renderKey(table, message.oldTuple) : null;
      const newKey = renderKey(table, message.newTuple);
      if (oldKey !== null && newKey !== null && oldKey !== newKey) {
        this.push(out, tx, table, renderEnvelope(table, 'd', message.oldTuple, keyOnly, null, ctx()), walStart);
        this.push(out, tx, table, renderEnvelope(table, 'c', null, false, message.newTuple, ctx()), walStart);
      } else {
        this.push(out, tx, table, renderEnvelope(table, 'u', message.oldTuple, keyOnly, message.newTuple, ctx()), walStart);
      }
    }
  }

  private push(
    out: AppendRecord[],
    tx: OpenTransaction,
    table: TableInfo,
    change: RenderedChange,
    walStart: bigint,
    partition?: number,
  ): void {
    this.observer?.observe(table.relation.oid, change.key, tx.xid, change.op === 'u' ? change.unchanged : null);
    out.push({
      topic: table.topic,
      partition: partition ?? partitionForKey(change.key, table.partitions),
      key: change.key,
      envelope: change.envelope,
      sourceLsn: walStart,
      txId: String(tx.xid),
      commitTimeMs: tx.commitTimeMs,
    });
  }
}
