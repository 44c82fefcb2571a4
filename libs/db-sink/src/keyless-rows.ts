import type { ColumnSchema } from '@tributary/schema-registry';
import type { TargetTable } from './target-table';

/** One statement with its bind parameters, in the order of its placeholders. */
export interface Statement {
  text: string;
  values: unknown[];
}

/** The condition "column `name` (quoted) equals the parameter `param`", NULL equal to NULL. */
export type ColumnEquality = (column: ColumnSchema, name: string, param: string) => string;

/** What the dialects do differently for tables without a key; the statements' shapes are the same. */
export interface KeylessSyntax {
  /** Appends `value` of `column`, converted for the driver, to `values`; returns its placeholder. */
  bind(values: unknown[], value: unknown, column: ColumnSchema): string;
  /** How a column is compared, asked before each update or delete (MySQL asks once whether it is MariaDB). */
  equality(): Promise<ColumnEquality>;
  /** The clause that narrows an UPDATE or DELETE of `table` to the first row matching `where`. */
  oneRow(table: string, where: string): string;
  /** Plain INSERTs of `rows` into `table` (quoted) with the quoted column `names`, cut as the dialect cuts them. */
  inserts(table: string, names: string, columns: ColumnSchema[], rows: Record<string, unknown>[]): Iterable<Statement>;
}

/**
 * Rows of tables without a key: plain inserts (every row kept, duplicates too) and updates and deletes
 * of ONE row equal to the old row, as the dialect's TargetDialect.insert, updateOne and deleteOne.
 */
export class KeylessRows {
  constructor(
    private readonly syntax: KeylessSyntax,
    private readonly name: (table: TargetTable) => string,
    private readonly q: (identifier: string) => string,
    /** Runs a statement; the rows it changed (or found). */
    private readonly run: (statement: Statement) => Promise<number>,
  ) {}

  /** Multi-row INSERTs without an upsert clause: every row is kept, duplicates too. */
  async insert(table: TargetTable, columns: ColumnSchema[], rows: Record<string, unknown>[]): Promise<void> {
    const names = columns.map((c) => this.q(c.name)).join(', ');
    for (const statement of this.syntax.inserts(this.name(table), names, columns, rows)) await this.run(statement);
  }

  /** One row equal to `before` on its `match` columns gets `after`'s `set` columns; false if none matched. */
  async updateOne(
    table: TargetTable,
    match: ColumnSchema[],
    before: Record<string, unknown>,
    set: ColumnSchema[],
    after: Record<string, unknown>,
  ): Promise<boolean> {
    const name = this.name(table);
    const values: unknown[] = [];
    const assignments = set.map((c) => `${this.q(c.name)} = ${this.syntax.bind(values, after[c.name], c)}`);
    const where = await this.rowMatch(match, before, values);
    const text = assignments.length
      ? `UPDATE ${name} SET ${assignments.join(', ')} ${this.syntax.oneRow(name, where)}`
      : `SELECT 1 FROM ${name} WHERE ${where} LIMIT 1`; // nothing to set: only whether it matches
    return (await this.run({ text, values })) > 0;
  }

  /** Deletes one row equal to `before` on its `match` columns; false if none matched. */
  async deleteOne(table: TargetTable, match: ColumnSchema[], before: Record<string, unknown>): Promise<boolean> {
    const name = this.name(table);
    const values: unknown[] = [];
    const where = await this.rowMatch(match, before, values);
    return (await this.run({ text: `DELETE FROM ${name} ${this.syntax.oneRow(name, where)}`, values })) > 0;
  }

  /** The condition "this row equals `before`" on the `match` columns (TRUE for none). */
  private async rowMatch(match: ColumnSchema[], before: Record<string, unknown>, values: unknown[]): Promise<string> {
    const equals = await this.syntax.equality();
    const terms = match.map((c) => equals(c, this.q(c.name), this.syntax.bind(values, before[c.name], c)));
    return terms.length ? terms.join(' AND ') : 'TRUE';
  }
}
