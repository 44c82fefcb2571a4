import { randomBytes } from 'node:crypto';
import type { Client, QueryConfig } from 'pg';
import type { CapturedTable, SourceConfig } from '@tributary/config';
import { quoteIdent } from '@tributary/pg-source';
import { SourceConfigurationError } from './capture-errors';

/** A table's columns and replica identity as Postgres checks a publication's column list and row filter against. */
interface TableShape {
  oid: number;
  columns: { attnum: number; name: string }[];
  /** 'd' default (the primary key), 'f' full, 'i' index, 'n' nothing. */
  identity: string;
  /** The replica identity's columns, with the primary key's: the capture keys messages by them. */
  identityColumns: string[];
}

const hasFilter = (t: CapturedTable): boolean => !!t.columns || !!t.exclude || t.where !== undefined;

/**
 * The publication clause (` ("a", "b") WHERE (…)`) of each captured table with `columns`, `exclude` or
 * `where`, keyed `schema.table`, after checking them on the source the way Postgres will, before anything
 * changes: every column exists; the replica identity's columns stay published and the row filter uses no
 * other column (the publication publishes updates and deletes, and Postgres refuses UPDATE and DELETE on a
 * table whose column list or row filter breaks that rule, in the source's own application); and Postgres
 * itself accepts them (its row filter rules refuse user-defined and non-immutable functions such as
 * `pg_sleep` or `pg_read_file`, sub-queries and system columns): a throwaway publication with the same
 * clause is created in a transaction that is rolled back. Errors name the key, `tables[i].where`.
 */
export async function tableFilters(client: Client, source: SourceConfig, tables: CapturedTable[]): Promise<Map<string, string>> {
  const clauses = new Map<string, string>();
  for (const t of tables) {
    if (t.table === '*' || !hasFilter(t)) continue;
    const at = `tables[${source.tables.indexOf(t)}]`;
    const name = `${t.schema}.${t.table}`;
    const shape = await loadShape(client, t);
    const columns = publishedColumns(t, shape, at, name);
    let clause = columns ? ` (${columns.map(quoteIdent).join(', ')})` : '';
    if (t.where !== undefined) clause += ` WHERE (${t.where})`;
    const used = await checkWithPostgres(
      client,
      t,
      clause,
      `${at}.${t.where !== undefined ? 'where' : t.columns ? 'columns' : 'exclude'}`,
    );
    if (t.where !== undefined && shape.identity !== 'f') {
      const names = used.map((attnum) => shape.columns.find((c) => c.attnum === attnum)?.name ?? `#${attnum}`);
      const outside = names.filter((n) => !shape.identityColumns.includes(n));
      if (outside.length) {
        throw new SourceConfigurationError(
          `${at}.where: the row filter of ${name} may only use its replica identity columns (${listed(shape.identityColumns)}), ` +
            `as updates and deletes are published: Postgres refuses UPDATE and DELETE on the table otherwise. It uses ` +
            `${listed(outside)}. Filter on the key, or make the columns part of the replica identity (REPLICA IDENTITY ` +
            'USING INDEX on a unique index over them, or FULL).',
          `${at}.where`,
        );
      }
    }
    clauses.set(name, clause);
  }
  return clauses;
}

/** The column list (all columns but `exclude`, or `columns`), checked; undefined when the table has none. */
function publishedColumns(t: CapturedTable, shape: TableShape, at: string, name: string): string[] | undefined {
  const given = t.columns ?? t.exclude;
  if (!given) return undefined;
  const key = t.columns ? 'columns' : 'exclude';
  const all = shape.columns.map((c) => c.name);
  const unknown = given.filter((c) => !all.includes(c));
  if (unknown.length) {
    throw new SourceConfigurationError(`${at}.${key}: ${name} has no column ${listed(unknown)}`, `${at}.${key}`);
  }
  const list = t.columns ? all.filter((c) => given.includes(c)) : all.filter((c) => !given.includes(c));
  if (!list.length) throw new SourceConfigurationError(`${at}.${key}: leaves no column of ${name} to publish`, `${at}.${key}`);
  const required = shape.identity === 'f' ? all : shape.identityColumns;
  const missing = required.filter((c) => !list.includes(c));
  if (missing.length) {
    const identity =
      shape.identity === 'f' ? 'REPLICA IDENTITY FULL, so every column is' : `its replica identity is ${listed(required)}:`;
    throw new SourceConfigurationError(
      `${at}.${key}: ${name} must keep publishing ${listed(missing)} (${identity} needed by the published updates ` +
        'and deletes; Postgres refuses UPDATE and DELETE on the table otherwise)',
      `${at}.${key}`,
    );
  }
  return list;
}

async function loadShape(client: Client, t: CapturedTable): Promise<TableShape> {
  const qualified = `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
  const { rows } = await client.query<{ oid: number; identity: string }>(
    'SELECT c.oid::int AS oid, c.relreplident AS identity FROM pg_class c WHERE c.oid = to_regclass($1)',
    [qualified],
  );
  if (!rows.length) throw new SourceConfigurationError(`table ${t.schema}.${t.table} does not exist`);
  const { oid, identity } = rows[0];
  const { rows: columns } = await client.query<{ attnum: number; name: string }>(
    `SELECT attnum::int AS attnum, attname AS name FROM pg_attribute
      WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`,
    [oid],
  );
  const { rows: key } = await client.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = $1 AND (i.indisprimary OR (i.indisreplident AND $2 = 'i'))
      GROUP BY a.attname, a.attnum ORDER BY a.attnum`,
    [oid, identity],
  );
  return { oid, columns, identity, identityColumns: key.map((k) => k.name) };
}

/**
 * Creates a throwaway publication with the clause in a transaction that is rolled back, so Postgres applies
 * its own rules; returns the attribute numbers its row filter uses (read from the stored filter's tree).
 */
async function checkWithPostgres(client: Client, t: CapturedTable, clause: string, field: string): Promise<number[]> {
  const name = quoteIdent(`tributary_check_${randomBytes(6).toString('hex')}`);
  await client.query(`BEGIN; SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '10s'`);
  try {
    // The extended protocol runs one statement, whatever the clause holds (its shape was checked already).
    const text = `CREATE PUBLICATION ${name} FOR TABLE ${quoteIdent(t.schema)}.${quoteIdent(t.table)}${clause}`;
    // (`queryMode` is in the driver since 8.11, not yet in its types)
    await client.query({ text, queryMode: 'extended' } as QueryConfig);
    const { rows } = await client.query<{ qual: string | null }>(
      `SELECT r.prqual::text AS qual FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid WHERE p.pubname = $1`,
      [name.slice(1, -1)],
    );
    const qual = rows[0]?.qual ?? '';
    return [...new Set([...qual.matchAll(/\{VAR :varno \d+ :varattno (-?\d+)/g)].map((m) => Number(m[1])))];
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string' || !/^(42|22|0A|2B|54)/.test(code)) throw error;
    const detail = (error as { detail?: unknown }).detail;
    throw new SourceConfigurationError(
      `${field}: Postgres refuses it for the publication of ${t.schema}.${t.table}: ${(error as Error).message}` +
        (typeof detail === 'string' && detail ? ` (${detail})` : ''),
      field,
    );
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

const listed = (names: string[]): string => names.map((n) => `"${n}"`).join(', ');
