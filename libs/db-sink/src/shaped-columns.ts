import type { BuiltinTransform } from '@tributary/config';
import type { ColumnSchema } from '@tributary/schema-registry';

const TEXT = (name: string): ColumnSchema => ({ name, type: 'text', kind: 'string' });
const SOURCE_COLUMN: Record<string, (name: string) => ColumnSchema> = {
  ts_ms: (name) => ({ name, type: 'bigint', kind: 'number' }),
};

/**
 * A source table's columns and key as the group's built-in transforms leave its rows, so the target
 * table gets the columns the messages carry: a renamed column under its new name (same type), a
 * dropped one not at all, a masked or hashed one as text (its values are text now), and the
 * `__<field>` columns of addSource. A transform that drops or masks a key column is refused: the
 * target could no longer tell rows apart, and updates and deletes would go to the wrong row.
 */
export function shapedColumns(
  columns: ColumnSchema[],
  primaryKey: string[],
  steps: BuiltinTransform[],
): { columns: ColumnSchema[]; primaryKey: string[] } | { problem: string } {
  let cols = columns;
  let key = primaryKey;
  for (const step of steps) {
    switch (step.type) {
      case 'drop':
      case 'mask':
      case 'hash': {
        const touched = new Set(step.columns);
        const hit = key.find((k) => touched.has(k));
        if (hit) return { problem: `the ${step.type} transform changes the key column ${hit}` };
        cols =
          step.type === 'drop'
            ? cols.filter((c) => !touched.has(c.name))
            : cols.map((c) => (touched.has(c.name) ? TEXT(c.name) : c));
        break;
      }
      case 'rename': {
        const to = (n: string) => step.columns[n] ?? n;
        cols = cols.map((c) => (c.name in step.columns ? { ...c, name: to(c.name) } : c));
        key = key.map(to);
        break;
      }
      case 'addSource':
        for (const f of step.fields) {
          const name = `__${f}`;
          if (!cols.some((c) => c.name === name)) cols = [...cols, (SOURCE_COLUMN[f] ?? TEXT)(name)];
        }
        break;
      case 'flatten':
        return { problem: 'flatten leaves no envelope to apply' }; // refused when the group is saved too
    }
  }
  return { columns: cols, primaryKey: key };
}

/** `schema.table` or `table` of a message's route (the first dot divides): the target table it goes to. */
export function routedTable(route: string): { schema?: string; table: string } {
  const dot = route.indexOf('.');
  return dot < 0 ? { table: route } : { schema: route.slice(0, dot), table: route.slice(dot + 1) };
}
