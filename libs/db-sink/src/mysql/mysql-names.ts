import type { TargetTable } from '../target-table';

/** MySQL and MariaDB identifiers: at most 64 characters (information_schema's varchar(64)). */
const MAX_CHARS = 64;

/**
 * Why MySQL/MariaDB cannot hold these names exactly, or undefined. Refused rather than changed:
 * names longer than 64 characters, names ending in a space (MySQL cannot store them), characters
 * outside Unicode's Basic Multilingual Plane and NUL (not allowed in identifiers), a `schema` (the
 * database is the URL's), column names equal but for case (MySQL compares column names without case),
 * and table names with capitals on a server that folds table names to lower case
 * (`lower_case_table_names` 1 or 2), where `Users` and `users` would be one table.
 */
export function mysqlNameProblem(table: TargetTable, columns: string[], foldsTableCase: boolean): string | undefined {
  if (table.schema !== undefined) {
    return `MySQL targets take plain table names (the database is the URL's), not ${JSON.stringify(table.schema)}.${JSON.stringify(table.table)}`;
  }
  for (const [kind, name] of [['table', table.table], ...columns.map((c) => ['column', c])]) {
    const problem = identifierProblem(name);
    if (problem) return `the ${kind} name ${JSON.stringify(name)} ${problem}`;
  }
  if (foldsTableCase && table.table !== table.table.toLowerCase()) {
    return (
      `the table name ${JSON.stringify(table.table)} has capitals and this server folds table names to lower case ` +
      '(lower_case_table_names), so it could share a table with another name: map it to a lower-case tables[].target'
    );
  }
  const seen = new Map<string, string>();
  for (const c of columns) {
    const other = seen.get(c.toLowerCase());
    if (other !== undefined) {
      return `the column names ${JSON.stringify(other)} and ${JSON.stringify(c)} differ only in case, and MySQL compares column names without case`;
    }
    seen.set(c.toLowerCase(), c);
  }
  return undefined;
}

function identifierProblem(name: string): string | undefined {
  const chars = [...name];
  if (chars.length === 0) return 'is empty';
  if (chars.length > MAX_CHARS) return `is ${chars.length} characters, more than MySQL allows (${MAX_CHARS})`;
  if (name.endsWith(' ')) return 'ends with a space, which MySQL cannot store in a name';
  if (name.includes('\u0000')) return 'contains a NUL character, which MySQL does not allow in names';
  if (chars.some((c) => (c.codePointAt(0) as number) > 0xffff)) {
    return 'has a character outside the Basic Multilingual Plane, which MySQL does not allow in names';
  }
  return undefined;
}
