import { cellText, renderColumns } from '@tributary/terminal';

/** Plain aligned columns for terminals (no box drawing, so output stays greppable), headers in capitals. */
export function formatTable(rows: Record<string, unknown>[], columns: string[]): string {
  return renderColumns(
    columns.map((c) => c.toUpperCase()),
    rows.map((r) => columns.map((c) => cellText(r[c]))),
  );
}
