export interface ColumnsOptions {
  /** Columns printed right-aligned (numbers); the others are left-aligned. */
  rightAligned?: (column: number) => boolean;
  /** A line of `─` under the headers. */
  rule?: boolean;
}

/**
 * Rows as plain aligned columns for a terminal, two spaces apart (no box drawing, so output stays
 * greppable); trailing spaces are trimmed.
 */
export function renderColumns(headers: string[], rows: string[][], options: ColumnsOptions = {}): string {
  const right = options.rightAligned ?? (() => false);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    widths
      .map((w, i) => (right(i) ? (cells[i] ?? '').padStart(w) : (cells[i] ?? '').padEnd(w)))
      .join('  ')
      .trimEnd();
  const rule = options.rule ? [widths.map((w) => '─'.repeat(w)).join('  ')] : [];
  return [line(headers), ...rule, ...rows.map(line)].join('\n');
}

/** How a value of a JSON answer shows in a cell: scalars as text, anything else as JSON. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
