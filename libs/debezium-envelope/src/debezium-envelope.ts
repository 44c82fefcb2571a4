import type { ConsumedMessage } from '@tributary/sink-contract';
import type { ColumnSchema } from '@tributary/schema-registry';
import { field, SOURCE_SCHEMA, type ConnectField, type ConnectSchema } from './connect-schema';
import { columnMapping, UNAVAILABLE, type ColumnMapping, type DecimalHandling } from './debezium-values';
import { objectSlices } from './json-slices';

export interface DebeziumOptions {
  /** Kafka Connect's JSON converter with `schemas.enable=true`: `{"schema":…,"payload":…}`. */
  withSchema?: boolean;
  /**
   * The table's columns (the schema registry's `source_tables`): they give each value its Debezium type.
   * Without them values keep our envelope's rendering and the schema types follow the JSON values.
   */
  table?: { columns: ColumnSchema[]; primaryKey: string[] };
  /** Debezium's `decimal.handling.mode`; default `precise`, as Debezium's. */
  decimalHandling?: DecimalHandling;
  /** `source.version`. */
  version?: string;
}

/** Which table a message is of, to look its columns up before `toDebezium`. */
export interface EnvelopeTable {
  source: string;
  schema: string;
  table: string;
  /** The columns the message's rows carry. */
  columns: string[];
}

export const DEBEZIUM_SOURCE_VERSION = 'tributary';

interface Parsed {
  op: string;
  before: string;
  after: string;
  source: Map<string, string>;
  tsMs: string;
  unchanged: ReadonlySet<string>;
}

function parse(envelope: string): Parsed {
  const top = new Map(objectSlices(envelope));
  const source = new Map(objectSlices(top.get('source') ?? '{}'));
  const unchanged = top.get('unchanged_toast');
  return {
    op: JSON.parse(top.get('op') ?? '""') as string,
    before: top.get('before') ?? 'null',
    after: top.get('after') ?? 'null',
    source,
    tsMs: top.get('ts_ms') ?? 'null',
    unchanged: new Set(unchanged ? (JSON.parse(unchanged) as string[]) : []),
  };
}

export function envelopeTable(message: ConsumedMessage): EnvelopeTable {
  const top = new Map(objectSlices(message.envelope));
  const source = new Map(objectSlices(top.get('source') ?? '{}'));
  const text = (name: string): string => JSON.parse(source.get(name) ?? '""') as string;
  const columns = new Set<string>();
  for (const rowText of [top.get('after'), top.get('before')]) {
    if (rowText && rowText !== 'null') for (const [name] of objectSlices(rowText)) columns.add(name);
  }
  return { source: text('name'), schema: text('schema'), table: text('table'), columns: [...columns] };
}

/**
 * One message of ours as the value Debezium's PostgreSQL connector writes for the same change
 * (docs/envelope.md#debezium-envelopes), as JSON text. Pure: the column types come in `options.table`.
 */
export function toDebezium(message: ConsumedMessage, options: DebeziumOptions = {}): string {
  const e = parse(message.envelope);
  const columns = columnsOf(e, options);
  const keyColumns = new Set(options.table?.primaryKey ?? []);
  const fill = options.withSchema === true && options.table !== undefined;
  // A truncate has no row: Debezium's carries neither `before` nor `after`.
  const rows =
    e.op === 't'
      ? ''
      : `"before":${row(e.before, columns, new Set(), fill)},"after":${row(e.after, columns, e.unchanged, fill)},`;
  const payload =
    `{${rows}"source":${sourceBlock(e, options.version ?? DEBEZIUM_SOURCE_VERSION)},"op":${JSON.stringify(e.op)}` +
    `,${timestamps(e.tsMs)}}`;
  if (!options.withSchema) return payload;
  return `{"schema":${JSON.stringify(envelopeSchema(e, columns, keyColumns))},"payload":${payload}}`;
}

interface Column {
  name: string;
  mapping: ColumnMapping;
}

/** The table's columns in table order, then any the row has and the registry does not (yet). */
function columnsOf(e: Parsed, options: DebeziumOptions): Column[] {
  const decimals = options.decimalHandling ?? 'precise';
  const out: Column[] = (options.table?.columns ?? []).map((c) => ({
    name: c.name,
    mapping: columnMapping(c.type, c.kind, decimals),
  }));
  const known = new Set(out.map((c) => c.name));
  for (const text of [e.after, e.before]) {
    if (text === 'null') continue;
    for (const [name, raw] of objectSlices(text)) {
      if (!known.has(name)) {
        known.add(name);
        out.push({ name, mapping: guessed(raw) });
      }
    }
  }
  return out;
}

/** Without the column's type: the value as it is, typed by its JSON form. */
function guessed(raw: string): ColumnMapping {
  const same = (v: string): string => v;
  const c = raw[0];
  if (c === 't' || c === 'f') return { schema: { type: 'boolean' }, convert: same };
  if (c === '-' || (c >= '0' && c <= '9')) return { schema: { type: /[.eE]/.test(raw) ? 'double' : 'int64' }, convert: same };
  if (c === '{' || c === '[')
    return { schema: { type: 'string', name: 'io.debezium.data.Json', version: 1 }, convert: JSON.stringify };
  return { schema: { type: 'string' }, convert: same };
}

/**
 * A row in Debezium's form. Unchanged TOASTed columns get Debezium's placeholder; with `fill` (a schema to
 * match) a column the row leaves out (a DEFAULT replica identity's old row: only its key) is null, as
 * Connect's converter writes every field of a struct.
 */
function row(text: string, columns: Column[], unchanged: ReadonlySet<string>, fill: boolean): string {
  if (text === 'null') return 'null';
  const values = new Map(objectSlices(text));
  const parts: string[] = [];
  for (const { name, mapping } of columns) {
    const raw = values.get(name);
    let value: string | undefined;
    if (raw !== undefined) value = raw === 'null' ? 'null' : mapping.convert(raw);
    else if (unchanged.has(name)) value = placeholder(mapping.schema);
    else if (fill) value = 'null';
    if (value !== undefined) parts.push(`${JSON.stringify(name)}:${value}`);
  }
  return `{${parts.join(',')}}`;
}

function placeholder(schema: ConnectSchema): string {
  if (schema.type === 'bytes') return JSON.stringify(Buffer.from(UNAVAILABLE).toString('base64'));
  if (schema.type === 'array') return `[${placeholder(schema.items ?? { type: 'string' })}]`;
  return JSON.stringify(UNAVAILABLE);
}

function sourceBlock(e: Parsed, version: string): string {
  const s = e.source;
  const lsn = s.has('lsn') ? lsnNumber(JSON.parse(s.get('lsn') as string) as string) : 'null';
  const commit = s.has('commitLsn') ? lsnNumber(JSON.parse(s.get('commitLsn') as string) as string) : null;
  const snapshot = s.has('backfill') ? 'incremental' : s.get('snapshot') === 'true' ? 'true' : 'false';
  const sequence = JSON.stringify(JSON.stringify([commit, lsn === 'null' ? null : lsn]));
  return (
    `{"version":${JSON.stringify(version)},"connector":"postgresql","name":${s.get('name') ?? '""'}` +
    `,${timestamps(s.get('ts_ms') ?? 'null')},"snapshot":"${snapshot}","db":${s.get('database') ?? '""'}` +
    `,"sequence":${sequence},"schema":${s.get('schema') ?? '""'},"table":${s.get('table') ?? '""'}` +
    `,"txId":${s.get('txId') ?? 'null'},"lsn":${lsn},"xmin":null}`
  );
}

/** `ts_ms`, and `ts_us` and `ts_ns` as Debezium 2.6+ adds them (our times are milliseconds: the finer digits are 0). */
function timestamps(ms: string): string {
  if (!/^\d+$/.test(ms)) return `"ts_ms":${ms},"ts_us":${ms},"ts_ns":${ms}`;
  return `"ts_ms":${ms},"ts_us":${ms}000,"ts_ns":${ms}000000`;
}

/** `16/B374D848` -> `97500059720` (Debezium writes LSNs as the 64-bit number). */
export function lsnNumber(lsn: string): string {
  const [high, low] = lsn.split('/');
  return ((BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`)).toString();
}

function envelopeSchema(e: Parsed, columns: Column[], keyColumns: ReadonlySet<string>): ConnectSchema {
  const text = (name: string): string => JSON.parse(e.source.get(name) ?? '""') as string;
  const prefix = `${text('name')}.${text('schema')}.${text('table')}`;
  const fields: ConnectField[] = columns.map((c) => field(c.name, c.mapping.schema, !keyColumns.has(c.name)));
  const value: ConnectSchema = { type: 'struct', fields, optional: true, name: `${prefix}.Value` };
  return {
    type: 'struct',
    fields: [
      { ...value, field: 'before' },
      { ...value, field: 'after' },
      { ...SOURCE_SCHEMA, field: 'source' },
      field('op', { type: 'string' }, false),
      field('ts_ms', { type: 'int64' }, true),
      field('ts_us', { type: 'int64' }, true),
      field('ts_ns', { type: 'int64' }, true),
    ],
    optional: false,
    name: `${prefix}.Envelope`,
  };
}
