/**
 * A target table as two separate identifiers, never one dotted string: a source table named
 * `app.users` is the table `app.users` in the sink's default schema (or database), and only an
 * explicit `tables[].target` of `schema.table` names another schema. `schema` absent means the
 * dialect's default (the Postgres sink's `schema`, the MySQL URL's database).
 */
export interface TargetTable {
  schema?: string;
  table: string;
}

/** The same table for the sink's bookkeeping: schema and table joined by a character no name has. */
export function targetTableKey(t: TargetTable): string {
  return `${t.schema ?? ''}\u0000${t.table}`;
}

/** For messages: each part JSON-quoted when it is not a plain identifier, so `"app.users"` differs from `app.users`. */
export function describeTargetTable(t: TargetTable): string {
  const part = (s: string) => (/^[A-Za-z_][A-Za-z0-9_$]*$/.test(s) ? s : JSON.stringify(s));
  return t.schema === undefined ? part(t.table) : `${part(t.schema)}.${part(t.table)}`;
}
