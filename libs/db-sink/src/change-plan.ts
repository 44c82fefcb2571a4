import type { RowChange } from './change';

export type Step<T> =
  | { kind: 'upsert'; table: T; columns: string[]; rows: Record<string, unknown>[] }
  | { kind: 'delete'; table: T; keys: Record<string, unknown>[] }
  | { kind: 'truncate'; table: T }
  | KeylessStep<T>;

/** Steps of tables without a key: rows are told apart by their whole content, so each one counts. */
export type KeylessStep<T> =
  /** Rows appended as they are, duplicates included. */
  | { kind: 'insert'; table: T; columns: string[]; rows: Record<string, unknown>[] }
  /** One target row equal to `before` takes the values of `after`. */
  | { kind: 'updateOne'; table: T; before: Record<string, unknown>; after: Record<string, unknown>; offset: number }
  /** One target row equal to `before` goes. */
  | { kind: 'deleteOne'; table: T; before: Record<string, unknown>; offset: number }
  /** An update or delete without the old row (the source table's replica identity is not FULL): it cannot be applied. */
  | { kind: 'noOldRow'; table: T; op: 'u' | 'd'; offset: number };

/**
 * Turns a partition's ordered changes into few statements without reordering any key's history:
 * consecutive upserts of one table with the same columns become one statement (a key seen twice
 * keeps its latest values), consecutive deletes become one, anything else starts a new step.
 * `target` maps a change to its target table, or undefined to skip it; changes share a step only when
 * `target` returns the same value (===) for them.
 *
 * `keyOf` returns undefined for a table without a key: its changes keep their offset order one by
 * one, only consecutive inserts share a statement (all of them kept, identical rows too). A step's
 * `offset` is the position of its change in `changes`.
 */
export function planChanges<T>(
  changes: RowChange[],
  target: (c: RowChange) => T | undefined,
  keyOf: (c: RowChange) => string | undefined,
): Step<T>[] {
  const steps: Step<T>[] = [];
  const rowIndex = new Map<string, number>(); // key -> row position in the current upsert step
  changes.forEach((change, offset) => {
    const table = target(change);
    if (table === undefined) return;
    const last = steps[steps.length - 1];
    if (change.op === 't') {
      steps.push({ kind: 'truncate', table });
      return;
    }
    const k = keyOf(change);
    if (k === undefined) {
      steps.push(...keylessStep(change, table, offset, last));
      return;
    }
    if (change.op === 'd') {
      const key = change.key ?? change.before;
      if (!key) return;
      if (last?.kind === 'delete' && last.table === table) last.keys.push(key);
      else steps.push({ kind: 'delete', table, keys: [key] });
      return;
    }
    const row = change.after ?? {};
    const columns = Object.keys(row);
    if (last?.kind === 'upsert' && last.table === table && sameColumns(last.columns, columns)) {
      const at = rowIndex.get(k);
      if (at !== undefined) last.rows[at] = row;
      else {
        rowIndex.set(k, last.rows.length);
        last.rows.push(row);
      }
      return;
    }
    rowIndex.clear();
    rowIndex.set(k, 0);
    steps.push({ kind: 'upsert', table, columns, rows: [row] });
  });
  return steps;
}

/** The step of one keyless change, or none when it joins the insert step before it (`last`). */
function keylessStep<T>(change: RowChange, table: T, offset: number, last: Step<T> | undefined): KeylessStep<T>[] {
  if (change.op === 'c' || change.op === 'r') {
    const row = change.after ?? {};
    const columns = Object.keys(row);
    if (last?.kind === 'insert' && last.table === table && sameColumns(last.columns, columns)) {
      last.rows.push(row);
      return [];
    }
    return [{ kind: 'insert', table, columns, rows: [row] }];
  }
  const op = change.op as 'u' | 'd';
  if (!change.before) return [{ kind: 'noOldRow', table, op, offset }];
  if (op === 'd') return [{ kind: 'deleteOne', table, before: change.before, offset }];
  return [{ kind: 'updateOne', table, before: change.before, after: change.after ?? {}, offset }];
}

function sameColumns(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}
