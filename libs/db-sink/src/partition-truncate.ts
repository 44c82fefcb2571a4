import { parse } from 'lossless-json';
import type { ColumnSchema } from '@tributary/schema-registry';
import { partitionForKey } from '@tributary/topic-log';
import type { TargetDialect } from './target-dialect';
import type { TargetTable } from './target-table';

/**
 * A source TRUNCATE is written to every partition of the table's topic, and partitions are applied
 * independently: when partition 2 reaches its copy of the truncate, partition 0 may already have
 * applied rows inserted after it. So each copy removes only the rows whose key belongs to its own
 * partition, found by rendering the target's key values exactly as capture renders keys.
 *
 * Returns false when the key types cannot be rendered back reliably (the caller then truncates the
 * whole table and says so).
 */
export async function truncatePartition(
  db: TargetDialect,
  table: TargetTable,
  key: ColumnSchema[],
  partition: number,
  partitions: number,
): Promise<boolean> {
  const renderers = key.map((c) => keyRenderer(c, db.kind));
  if (renderers.some((r) => !r)) return false;
  const doomed: Record<string, unknown>[] = [];
  for (const values of await db.keyTexts(table, key)) {
    const parts = values.map((v, i) => `${JSON.stringify(key[i].name)}:${v === null ? 'null' : renderers[i]!(v)}`);
    const text = `{${parts.join(',')}}`;
    if (partitionForKey(text, partitions) === partition) doomed.push(parse(text) as Record<string, unknown>);
  }
  if (doomed.length) await db.delete(table, key, doomed);
  return true;
}

type Render = (text: string) => string;

/** The key column kinds whose target text form is the source's, so capture's rendering can be redone. */
function keyRenderer(column: ColumnSchema, target: TargetDialect['kind']): Render | undefined {
  switch (column.kind) {
    case 'number':
      return (t) => t;
    case 'bool':
      return (t) => (t === 't' || t === 'true' || t === '1' ? 'true' : 'false');
    case 'exact':
      // MySQL may widen an unconstrained numeric's scale; bigint prints the same everywhere.
      return target === 'postgres' || column.type === 'bigint' ? (t) => `"${t}"` : undefined;
    case 'string':
      return /^(text|character varying(\(\d+\))?|character(\(\d+\))?|uuid|citext|name)$/.test(column.type)
        ? (t) => JSON.stringify(t)
        : undefined;
    default:
      return undefined;
  }
}
