import type { TargetTable } from '../target-table';

/**
 * Why Postgres cannot hold these names exactly, or undefined. Postgres truncates an identifier longer
 * than `max_identifier_length` bytes (63) without an error, so two long names could become one table
 * or one column: such names are refused, never shortened.
 */
export function postgresNameProblem(table: TargetTable, columns: string[], maxBytes: number): string | undefined {
  const names = [
    ...(table.schema === undefined ? [] : [['schema', table.schema]]),
    ['table', table.table],
    ...columns.map((c) => ['column', c]),
  ];
  for (const [kind, name] of names) {
    if (name.length === 0) return `the ${kind} name is empty`;
    if (name.includes('\u0000')) return `the ${kind} name ${JSON.stringify(name)} contains a NUL character`;
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes > maxBytes) {
      return (
        `the ${kind} name ${JSON.stringify(name)} is ${bytes} bytes, more than Postgres keeps (${maxBytes}); ` +
        'it would be truncated silently'
      );
    }
  }
  return undefined;
}
