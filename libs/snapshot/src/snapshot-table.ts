import type { ClientBase } from 'pg';
import { quoteIdent, quoteLiteral, TypeRegistry, type ValueKind } from '@tributary/pg-source';
import { copyField, type RowBatchFormat } from '@tributary/topic-log';
import { copyOut } from './copy-out';
import { CopyRows } from './copy-rows';
import { RowKeys } from './row-keys';

/**
 * Session settings of every connection that reads snapshot rows: the same as the replication
 * connection's (libs/capture/src/capture-session.ts), so a value's text form, and so its rendering and a
 * key's text (which decides its partition), is exactly what the stream would give for the same row.
 */
export const SNAPSHOT_SESSION_OPTIONS =
  '-c DateStyle=ISO -c IntervalStyle=iso_8601 -c TimeZone=UTC -c extra_float_digits=3 -c bytea_output=hex ' +
  // Chunk queries carry the last key as literals (COPY takes no parameters), quoted for this setting.
  '-c standard_conforming_strings=on';

export class SnapshotTableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotTableError';
  }
}

interface Column {
  name: string;
  typeOid: number;
  /**
   * format_type(type, typmod): for the schema registry, and for the casts of key values (with the
   * modifier: `character` alone would mean char(1); a value read from the column always fits it).
   */
  type: string;
}

/** A chunk: the rows' COPY text in key order, their keys and key hashes, and the end key as text values. */
export interface ReadChunk {
  rows: CopyRows;
  keys: RowKeys;
  hashes: Int32Array;
  endKey: string[] | null;
  /** Rows past `maxBytes` were dropped (to be read by the next chunk): more rows may follow. */
  cut: boolean;
}

/**
 * One source table as a snapshot reads it: its columns (as pgoutput publishes them: not dropped, not
 * generated, in attribute order), its key (primary key, else replica identity index, in key order), and
 * the keyset-paginated chunk query.
 */
export class SnapshotTable {
  /** The average bytes of a row of the last chunk read (at first a guess): chunks are sized by it. */
  private rowBytes = 200;

  get averageRowBytes(): number {
    return this.rowBytes;
  }

  /** The table is in the source's publication, so the stream carries its changes. */
  async inPublication(client: ClientBase, publication: string): Promise<boolean> {
    const { rowCount } = await client.query(
      'SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3',
      [publication, this.schema, this.name],
    );
    return !!rowCount;
  }

  private constructor(
    readonly oid: number,
    readonly schema: string,
    readonly name: string,
    readonly columns: Column[],
    readonly keyIndexes: number[],
    private readonly kinds: ValueKind[],
    /** The publication's row filter for the table (Postgres' own text of it), or null. */
    readonly rowFilter: string | null = null,
  ) {}

  get qualified(): string {
    return `${quoteIdent(this.schema)}.${quoteIdent(this.name)}`;
  }

  get keyColumns(): string[] {
    return this.keyIndexes.map((i) => this.columns[i].name);
  }

  /**
   * With `publication`, the table as that publication publishes it: only the columns of its column list and,
   * as `rowFilter`, its row filter, both read from the source's catalog (pg_publication_tables), so a snapshot
   * reads exactly the columns and rows the stream carries (docs/configuration.md#columns-and-row-filters).
   */
  static async load(
    client: ClientBase,
    schema: string,
    name: string,
    types = new TypeRegistry(),
    publication?: string,
  ): Promise<SnapshotTable> {
    const { rows: found } = await client.query<{ oid: number; kind: string }>(
      `SELECT c.oid::int AS oid, c.relkind AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2`,
      [schema, name],
    );
    if (!found.length) throw new SnapshotTableError(`table ${schema}.${name} does not exist`);
    if (!['r', 'p'].includes(found[0].kind)) throw new SnapshotTableError(`${schema}.${name} is not a table`);
    const oid = found[0].oid;
    const { rows: columns } = await client.query<{ name: string; oid: number; type: string }>(
      `SELECT attname AS name, atttypid::int AS oid, format_type(atttypid, atttypmod) AS type
         FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
        ORDER BY attnum`,
      [oid],
    );
    // As the capture keys messages: the primary key in key order, else the replica identity index's
    // columns in table order (as pgoutput flags them).
    const keyOf = (which: string, order: string) =>
      client.query<{ name: string }>(
        `SELECT a.attname AS name
           FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
          WHERE i.indrelid = $1 AND i.${which}
          ORDER BY ${order}`,
        [oid],
      );
    let { rows: key } = await keyOf('indisprimary', 'array_position(i.indkey::int2[], a.attnum)');
    if (!key.length) ({ rows: key } = await keyOf('indisreplident', 'a.attnum'));
    if (!key.length) {
      throw new SnapshotTableError(
        `table ${schema}.${name} has no primary key (nor replica identity index): a snapshot pages through a table by its key`,
      );
    }
    await types.resolve(
      client,
      columns.map((c) => c.oid),
    );
    const published = publication ? await publishedShape(client, publication, schema, name) : undefined;
    const cols = columns
      .filter((c) => !published?.columns || published.columns.includes(c.name))
      .map((c) => ({ name: c.name, typeOid: c.oid, type: c.type }));
    const keyIndexes = key.map((k) => cols.findIndex((c) => c.name === k.name));
    if (keyIndexes.includes(-1)) {
      throw new SnapshotTableError(`table ${schema}.${name}: the publication's column list leaves out a key column`);
    }
    return new SnapshotTable(
      oid,
      schema,
      name,
      cols,
      keyIndexes,
      cols.map((c) => types.kindOf(c.typeOid)),
      published?.rowFilter ?? null,
    );
  }

  kindName(i: number): ValueKind['kind'] {
    return this.kinds[i].kind;
  }

  /** The columns and key as a record batch of snapshot rows describes them. */
  get rowShape(): Pick<RowBatchFormat, 'columns' | 'keyIndexes'> {
    return { columns: this.columns.map((c, i) => ({ name: c.name, kind: this.kinds[i] })), keyIndexes: this.keyIndexes };
  }

  /**
   * Reads the next chunk after `after` (text values of the key; null for the first chunk) in key order.
   * The caller runs it inside the REPEATABLE READ transaction whose snapshot it records. `where` must
   * have been validated (see where-validator.ts).
   */
  async readChunk(
    client: ClientBase,
    after: string[] | null,
    limit: number,
    where: string | null,
    maxBytes = Infinity,
  ): Promise<ReadChunk> {
    const keyColumns = this.keyIndexes.map((i) => this.columns[i]);
    const conditions: string[] = [];
    if (after) {
      // COPY takes no parameters: the key's text values go in as literals of the key columns' types.
      const left = keyColumns.map((k) => quoteIdent(k.name)).join(', ');
      const right = keyColumns.map((k, i) => `${quoteLiteral(after[i])}::${k.type}`).join(', ');
      conditions.push(keyColumns.length === 1 ? `${left} > ${right}` : `(${left}) > (${right})`);
    }
    if (this.rowFilter) conditions.push(`(${this.rowFilter})`);
    if (where) conditions.push(`(${where})`);
    const query =
      `SELECT ${this.columns.map((c) => quoteIdent(c.name)).join(', ')} FROM ${this.qualified}` +
      (conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '') +
      ` ORDER BY ${keyColumns.map((k) => quoteIdent(k.name)).join(', ')} LIMIT ${Math.trunc(limit)}`;
    // Room for the rows and, later, their partitions' lines, at the width of the chunk before.
    const rows = new CopyRows(Math.ceil(limit * this.rowBytes * 2.2) + 65_536);
    let cut = false;
    // A COPY cannot be stopped midway: rows past the byte cap still arrive, and are let go.
    await copyOut(client, `COPY (${query}) TO STDOUT`, (row) => {
      if (rows.bytes < maxBytes) rows.push(row);
      else cut = true;
    });
    // Only the key columns are looked at: the rest stays as COPY sent it.
    const keys = new RowKeys(this.rowShape);
    const hashes = new Int32Array(rows.length);
    for (let i = 0; i < rows.length; i++) hashes[i] = keys.hash(rows, i);
    let endKey: string[] | null = null;
    if (rows.length) {
      const last = rows.leadingFields(rows.length - 1, Math.max(...this.keyIndexes) + 1);
      endKey = this.keyIndexes.map((i) => copyField(last[i]) as string);
    }
    if (rows.length) this.rowBytes = rows.bytes / rows.length;
    return { rows, keys, hashes, endKey, cut };
  }
}

/** The columns a publication publishes of a table (its column list, else all) and its row filter (Postgres 15+). */
async function publishedShape(
  client: ClientBase,
  publication: string,
  schema: string,
  name: string,
): Promise<{ columns: string[] | null; rowFilter: string | null } | undefined> {
  const { rows } = await client.query<{ columns: string[] | null; filter: string | null }>(
    `SELECT attnames::text[] AS columns, rowfilter AS filter
       FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3`,
    [publication, schema, name],
  );
  if (!rows.length) return undefined;
  return { columns: rows[0].columns, rowFilter: rows[0].filter };
}
