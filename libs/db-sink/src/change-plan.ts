import type { RowChange } from './change';

export type Step<T> =
  | { kind: 'upsert'; table: T; columns: string[]; rows: Record<string, unknown>[] }
  | { kind: 'delete'; table: T; keys: Record<string, unknown>[] }
  | { kind: 'truncate'; table: T };

/**
 * Turns a partition's ordered changes into few statements without reordering any key's history:
 * consecutive upserts of one table with the same columns become one statement (a key seen twice
 * keeps its latest values), consecutive deletes become one, anything else starts a new step.
 * `target` maps a change to its target table, or undefined to skip it; changes share a step only when
 * `target` returns the same value (===) for them.
 */
export function planChanges<T>(
  changes: RowChange[],
  target: (c: RowChange) => T | undefined,
  keyOf: (c: RowChange) => string,
): Step<T>[] {
  const steps: Step<T>[] = [];
  const rowIndex = new Map<string, number>(); // key -> row position in the current upsert step
  for (const change of changes) {
    const table = target(change);
    if (table === undefined) continue;
    const last = steps[steps.length - 1];
    if (change.op === 't') {
      steps.push({ kind: 'truncate', table });
      continue;
    }
    if (change.op === 'd') {
      const key = change.key ?? change.before;
      if (!key) continue;
      if (last?.kind === 'delete' && last.table === table) last.keys.push(key);
      else steps.push({ kind: 'delete', table, keys: [key] });
      continue;
    }
    const row = change.after ?? {};
    const columns = Object.keys(row);
    const k = keyOf(change);
    if (last?.kind === 'upsert' && last.table === table && sameColumns(last.columns, columns)) {
      const at = rowIndex.get(k);
      if (at !== undefined) last.rows[at] = row;
      else {
        rowIndex.set(k, last.rows.length);
        last.rows.push(row);
      }
      continue;
    }
    rowIndex.clear();
    rowIndex.set(k, 0);
    steps.push({ kind: 'upsert', table, columns, rows: [row] });
  }
  return steps;
}

function sameColumns(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}
