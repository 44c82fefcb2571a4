import type { ClientBase } from 'pg';
import { TypeRegistry } from '@tributary/pg-source';
import { renderValue, type ValueKind } from '@tributary/pg-source';
import { quoteIdent } from '@tributary/pg-source';

/**
 * Session settings of every connection that reads snapshot rows: the same as the replication
 * connection's (libs/capture/src/capture-session.ts), so a value's text form, and so its rendering and a
 * key's text (which decides its partition), is exactly what the stream would give for the same row.
 */
export const SNAPSHOT_SESSION_OPTIONS =
  '-c DateStyle=ISO -c IntervalStyle=iso_8601 -c TimeZone=UTC -c extra_float_digits=3 -c bytea_output=hex';

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

/** A rendered chunk: keys and `after` objects as JSON text, and the end key as text values. */
export interface ReadChunk {
  keys: string[];
  rows: string[];
  endKey: string[] | null;
}

const RAW_TEXT = { getTypeParser: () => (value: string) => value };

/**
 * One source table as a snapshot reads it: its columns (as pgoutput publishes them: not dropped, not
 * generated, in attribute order), its key (primary key, else replica identity index, in key order), and
 * the keyset-paginated chunk query.
 */
export class SnapshotTable {
  private constructor(
    readonly oid: number,
    readonly schema: string,
    readonly name: string,
    readonly columns: Column[],
    readonly keyIndexes: number[],
    private readonly kinds: ValueKind[],
  ) {}

  get qualified(): string {
    return `${quoteIdent(this.schema)}.${quoteIdent(this.name)}`;
  }

  get keyColumns(): string[] {
    return this.keyIndexes.map((i) => this.columns[i].name);
  }

  static async load(client: ClientBase, schema: string, name: string, types = new TypeRegistry()): Promise<SnapshotTable> {
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
    const cols = columns.map((c) => ({ name: c.name, typeOid: c.oid, type: c.type }));
    const keyIndexes = key.map((k) => cols.findIndex((c) => c.name === k.name));
    return new SnapshotTable(
      oid,
      schema,
      name,
      cols,
      keyIndexes,
      cols.map((c) => types.kindOf(c.typeOid)),
    );
  }

  kindName(i: number): ValueKind['kind'] {
    return this.kinds[i].kind;
  }

  /**
   * Reads the next chunk after `after` (text values of the key; null for the first chunk) in key order.
   * The caller runs it inside the REPEATABLE READ transaction whose snapshot it records. `where` must
   * have been validated (see where.validator.ts).
   */
  async readChunk(client: ClientBase, after: string[] | null, limit: number, where: string | null): Promise<ReadChunk> {
    const keys = this.keyIndexes.map((i) => this.columns[i]);
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (after) {
      params.push(...after);
      const left = keys.map((k) => quoteIdent(k.name)).join(', ');
      const right = keys.map((k, i) => `$${i + 1}::${k.type}`).join(', ');
      conditions.push(keys.length === 1 ? `${left} > ${right}` : `(${left}) > (${right})`);
    }
    if (where) conditions.push(`(${where})`);
    params.push(limit);
    const sql =
      `SELECT ${this.columns.map((c) => quoteIdent(c.name)).join(', ')} FROM ${this.qualified}` +
      (conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '') +
      ` ORDER BY ${keys.map((k) => quoteIdent(k.name)).join(', ')} LIMIT $${params.length}`;
    const result = await client.query<unknown[]>({ text: sql, values: params, rowMode: 'array', types: RAW_TEXT });
    const out: ReadChunk = { keys: new Array(result.rows.length), rows: new Array(result.rows.length), endKey: null };
    const names = this.columns.map((c) => `${JSON.stringify(c.name)}:`);
    const keyNames = this.keyIndexes.map((i) => names[i]);
    for (let r = 0; r < result.rows.length; r++) {
      const row = result.rows[r] as (string | null)[];
      let after = '{';
      for (let i = 0; i < row.length; i++) {
        const v = row[i];
        after += (i ? ',' : '') + names[i] + (v === null ? 'null' : renderValue(v, this.kinds[i]));
      }
      out.rows[r] = after + '}';
      let key = '{';
      for (let k = 0; k < this.keyIndexes.length; k++) {
        const i = this.keyIndexes[k];
        const v = row[i];
        key += (k ? ',' : '') + keyNames[k] + (v === null ? 'null' : renderValue(v, this.kinds[i]));
      }
      out.keys[r] = key + '}';
    }
    if (result.rows.length) {
      const last = result.rows[result.rows.length - 1] as string[];
      out.endKey = this.keyIndexes.map((i) => last[i]);
    }
    return out;
  }
}
