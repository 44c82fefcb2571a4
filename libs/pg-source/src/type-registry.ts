import type { ClientBase } from 'pg';
import type { ValueKind } from './value-renderer';

const BOOL: ValueKind = { kind: 'bool' };
const NUMBER: ValueKind = { kind: 'number' };
const FLOAT: ValueKind = { kind: 'float' };
const EXACT: ValueKind = { kind: 'exact' };
const JSON_: ValueKind = { kind: 'json' };
const BYTEA: ValueKind = { kind: 'bytea' };
const TIMESTAMP: ValueKind = { kind: 'timestamp' };
const TIMESTAMPTZ: ValueKind = { kind: 'timestamptz' };
const STRING: ValueKind = { kind: 'string' };

/** Built-in types by OID (pg_type.h); their array types are found through ARRAY_ELEMENTS. */
const BUILTIN = new Map<number, ValueKind>([
  [16, BOOL],
  [20, EXACT], // int8: beyond 2^53, so never a JSON number
  [21, NUMBER],
  [23, NUMBER],
  [26, NUMBER],
  [700, FLOAT],
  [701, FLOAT],
  [1700, EXACT],
  [114, JSON_],
  [3802, JSON_],
  [17, BYTEA],
  [1114, TIMESTAMP],
  [1184, TIMESTAMPTZ],
]);

const ARRAY_ELEMENTS = new Map<number, number>([
  [1000, 16],
  [1016, 20],
  [1005, 21],
  [1007, 23],
  [1028, 26],
  [1021, 700],
  [1022, 701],
  [1231, 1700],
  [199, 114],
  [3807, 3802],
  [1001, 17],
  [1115, 1114],
  [1185, 1184],
  [1182, 1082],
  [1183, 1083],
  [1270, 1266],
  [1187, 1186],
  [2951, 2950],
  [1009, 25],
  [1015, 1043],
  [1014, 1042],
  [1002, 18],
  [1003, 19],
]);

/** OIDs below this are built in; anything else (enums, domains, their arrays) is looked up. */
const FIRST_USER_OID = 16384;

/**
 * Knows how every column type is rendered. Built-in types are known up front; user types are read
 * from the source's catalog once and cached: enums are strings, domains render as their base type,
 * arrays of them as arrays.
 */
export class TypeRegistry {
  private readonly resolved = new Map<number, ValueKind>();

  kindOf(oid: number): ValueKind {
    return this.resolved.get(oid) ?? builtinKind(oid) ?? STRING;
  }

  /** Looks up the user-defined types among `oids` that are not known yet. */
  async resolve(client: ClientBase, oids: number[]): Promise<void> {
    const unknown = [...new Set(oids)].filter((oid) => oid >= FIRST_USER_OID && !this.resolved.has(oid));
    if (unknown.length === 0) return;
    const { rows } = await client.query<{
      oid: number;
      typtype: string;
      typelem: number;
      typbasetype: number;
      typcategory: string;
    }>(
      `SELECT oid::int AS oid, typtype, typelem::int AS typelem, typbasetype::int AS typbasetype, typcategory
         FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])`,
      [unknown],
    );
    const nested: number[] = [];
    for (const row of rows) {
      if (row.typtype === 'd') nested.push(row.typbasetype);
      if (row.typcategory === 'A' && row.typelem) nested.push(row.typelem);
    }
    if (nested.length) await this.resolve(client, nested);
    for (const row of rows) {
      if (row.typtype === 'd') this.resolved.set(row.oid, this.kindOf(row.typbasetype));
      else if (row.typcategory === 'A' && row.typelem)
        this.resolved.set(row.oid, { kind: 'array', element: this.kindOf(row.typelem) });
      else this.resolved.set(row.oid, STRING);
    }
  }
}

function builtinKind(oid: number): ValueKind | undefined {
  const known = BUILTIN.get(oid);
  if (known) return known;
  const element = ARRAY_ELEMENTS.get(oid);
  if (element !== undefined) return { kind: 'array', element: BUILTIN.get(element) ?? STRING };
  return undefined;
}
