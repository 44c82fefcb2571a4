import { renderColumns } from '@tributary/terminal';

export type Cell = string | number;

/** A table for the console (aligned columns) and the same table as Markdown. */
export class Table {
  readonly rows: string[][] = [];

  constructor(readonly headers: string[]) {}

  add(...cells: Cell[]): this {
    this.rows.push(cells.map((c) => (typeof c === 'number' ? c.toLocaleString('en-US') : c)));
    return this;
  }

  /** The first column left-aligned, the numbers after it right-aligned, a rule under the headers. */
  text(): string {
    return renderColumns(this.headers, this.rows, { rightAligned: (i) => i > 0, rule: true });
  }

  markdown(): string {
    const esc = (c: string) => (c ?? '').replace(/\|/g, '\\|');
    return [
      `| ${this.headers.map(esc).join(' | ')} |`,
      `| ${this.headers.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
      ...this.rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
    ].join('\n');
  }

  print(): void {
    console.log(this.text());
  }
}

export function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
}
