import type { ValueKindName } from '@tributary/schema-registry';
import type { ConnectSchema } from './connect-schema';
import { decimalBytes, moneyDecimal, scaleOf, unscaled } from './debezium-decimal';
import { dayMicros, durationMicros, epochDays, epochMicros, microsToMillis, utcTime } from './debezium-temporal';
import { arraySlices } from './json-slices';

/** How `numeric` values are written: Debezium's `decimal.handling.mode` (`precise` is its default). */
export type DecimalHandling = 'precise' | 'string' | 'double';

/** One column's Debezium form: its Connect schema and how a value of our envelope (raw JSON text) becomes it. */
export interface ColumnMapping {
  schema: ConnectSchema;
  /** Our envelope's JSON text of a non-null value -> Debezium's JSON text. */
  convert: (raw: string) => string;
}

/** What Debezium writes for an unchanged TOASTed value (its `unavailable.value.placeholder` default). */
export const UNAVAILABLE = '__debezium_unavailable_value';

const same = (raw: string): string => raw;
const unquote = (raw: string): string => (raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
const quote = (text: string): string => JSON.stringify(text);

/** A converter that falls back to our own text when the value is not of the form it maps (`infinity`, BC). */
function textual<T>(parse: (text: string) => T | undefined, print: (value: T) => string): (raw: string) => string {
  return (raw) => {
    const value = parse(unquote(raw));
    return value === undefined ? raw : print(value);
  };
}

const named = (type: ConnectSchema['type'], name: string, convert: (raw: string) => string): ColumnMapping => ({
  schema: { type, name, version: 1 },
  convert,
});

/**
 * Debezium's default mapping of a column's Postgres type (`format_type` text, from the schema registry),
 * with our envelope's rendering of it (docs/envelope.md) as the input. Types it does not know map by their
 * envelope kind, as strings when nothing better fits.
 */
export function columnMapping(type: string, kind: ValueKindName, decimals: DecimalHandling): ColumnMapping {
  if (type.endsWith('[]')) {
    const element = columnMapping(type.slice(0, -2), kind === 'array' ? 'string' : kind, decimals);
    return { schema: { type: 'array', items: { ...element.schema, optional: true } }, convert: arrayOf(element) };
  }
  return scalarMapping(type, decimals) ?? kindMapping(kind);
}

function arrayOf(element: ColumnMapping): (raw: string) => string {
  const convert = (raw: string): string =>
    raw.startsWith('[')
      ? `[${arraySlices(raw)
          .map((item) => (item === 'null' ? item : convert(item)))
          .join(',')}]`
      : element.convert(raw);
  return convert;
}

function scalarMapping(type: string, decimals: DecimalHandling): ColumnMapping | undefined {
  const base = type.replace(/\(.*?\)/, '');
  const precision = /\((\d+)/.exec(type)?.[1];
  switch (base) {
    case 'boolean':
      return { schema: { type: 'boolean' }, convert: same };
    case 'bit':
      // bit(1) is a boolean to Debezium; wider bit strings (io.debezium.data.Bits) stay our text
      return type === 'bit(1)' ? { schema: { type: 'boolean' }, convert: (raw) => String(raw === '"1"') } : undefined;
    case 'smallint':
      return { schema: { type: 'int16' }, convert: same };
    case 'integer':
      return { schema: { type: 'int32' }, convert: same };
    case 'bigint':
    case 'oid':
      return { schema: { type: 'int64' }, convert: unquote };
    case 'real':
      return { schema: { type: 'float' }, convert: same };
    case 'double precision':
      return { schema: { type: 'double' }, convert: same };
    case 'numeric':
      return numericMapping(type, decimals);
    case 'money':
      return moneyMapping(decimals);
    case 'date':
      return named('int32', 'io.debezium.time.Date', textual(epochDays, String));
    case 'time without time zone':
      return timeMapping(precision === undefined ? 6 : +precision);
    case 'time with time zone':
      return named('string', 'io.debezium.time.ZonedTime', textual(utcTime, quote));
    case 'timestamp without time zone':
      return timestampMapping(precision === undefined ? 6 : +precision);
    case 'timestamp with time zone':
      return named('string', 'io.debezium.time.ZonedTimestamp', same);
    case 'json':
    case 'jsonb':
      return named('string', 'io.debezium.data.Json', quote);
    case 'uuid':
      return named('string', 'io.debezium.data.Uuid', same);
    case 'xml':
      return named('string', 'io.debezium.data.Xml', same);
    case 'bytea':
      return { schema: { type: 'bytes' }, convert: same };
  }
  if (base.startsWith('interval')) return named('int64', 'io.debezium.time.MicroDuration', textual(durationMicros, String));
  if (base === 'ltree' || base.endsWith('.ltree')) return named('string', 'io.debezium.data.Ltree', same);
  return undefined;
}

function timeMapping(precision: number): ColumnMapping {
  if (precision <= 3)
    return named(
      'int32',
      'io.debezium.time.Time',
      textual(dayMicros, (us) => String(microsToMillis(us))),
    );
  return named('int64', 'io.debezium.time.MicroTime', textual(dayMicros, String));
}

/** Debezium's values for `infinity` and `-infinity` timestamps (those of the Postgres JDBC driver). */
const INFINITY: Record<string, bigint> = { infinity: 9223372036825200000n, '-infinity': -9223372036832400000n };
const timestampMicros = (text: string): bigint | undefined => INFINITY[text] ?? epochMicros(text);

function timestampMapping(precision: number): ColumnMapping {
  if (precision <= 3) {
    const infinite = new Set(Object.values(INFINITY));
    const millis = (us: bigint): string => String(infinite.has(us) ? us : microsToMillis(us));
    return named('int64', 'io.debezium.time.Timestamp', textual(timestampMicros, millis));
  }
  return named('int64', 'io.debezium.time.MicroTimestamp', textual(timestampMicros, String));
}

/**
 * `numeric(p,s)` is Connect's Decimal at scale s; a `numeric` without a scale Debezium's
 * VariableScaleDecimal struct (each value with its own scale). NaN and infinities have no Decimal form:
 * null, as Debezium writes them in precise mode.
 */
function numericMapping(type: string, decimals: DecimalHandling): ColumnMapping {
  if (decimals !== 'precise') return otherDecimal(decimals);
  const m = /^numeric\((\d+),(\d+)\)$/.exec(type);
  if (m) {
    const scale = +m[2];
    return {
      schema: {
        type: 'bytes',
        name: 'org.apache.kafka.connect.data.Decimal',
        version: 1,
        parameters: { scale: m[2], 'connect.decimal.precision': m[1] },
      },
      convert: (raw) => {
        const value = unscaled(unquote(raw), scale);
        return value === undefined ? 'null' : quote(decimalBytes(value));
      },
    };
  }
  return {
    schema: {
      type: 'struct',
      name: 'io.debezium.data.VariableScaleDecimal',
      version: 1,
      fields: [
        { type: 'int32', optional: false, field: 'scale' },
        { type: 'bytes', optional: false, field: 'value' },
      ],
    },
    convert: (raw) => {
      const text = unquote(raw);
      const value = unscaled(text, scaleOf(text));
      return value === undefined ? 'null' : `{"scale":${scaleOf(text)},"value":${quote(decimalBytes(value))}}`;
    },
  };
}

function otherDecimal(decimals: 'string' | 'double'): ColumnMapping {
  if (decimals === 'string') return { schema: { type: 'string' }, convert: same };
  return { schema: { type: 'double' }, convert: (raw) => (/^"-?\d/.test(raw) ? String(Number(unquote(raw))) : raw) };
}

/** money: a Decimal at scale 2 (Debezium's `money.fraction.digits` default). */
function moneyMapping(decimals: DecimalHandling): ColumnMapping {
  const toDecimal = (raw: string): string => quote(moneyDecimal(unquote(raw)) ?? unquote(raw));
  if (decimals !== 'precise') {
    const other = otherDecimal(decimals);
    return { schema: other.schema, convert: (raw) => other.convert(toDecimal(raw)) };
  }
  return {
    schema: {
      type: 'bytes',
      name: 'org.apache.kafka.connect.data.Decimal',
      version: 1,
      parameters: { scale: '2' },
    },
    convert: (raw) => {
      const value = unscaled(unquote(toDecimal(raw)), 2);
      return value === undefined ? 'null' : quote(decimalBytes(value));
    },
  };
}

/** A type Debezium has no special form for (enums, ranges, inet, text types, domains...): by our kind. */
function kindMapping(kind: ValueKindName): ColumnMapping {
  switch (kind) {
    case 'bool':
      return { schema: { type: 'boolean' }, convert: same };
    case 'number':
      return { schema: { type: 'int64' }, convert: same };
    case 'float':
      return { schema: { type: 'double' }, convert: same };
    case 'json':
      return named('string', 'io.debezium.data.Json', quote);
    case 'bytea':
      return { schema: { type: 'bytes' }, convert: same };
    case 'timestamp':
      return timestampMapping(6);
    case 'timestamptz':
      return named('string', 'io.debezium.time.ZonedTimestamp', same);
    default:
      return { schema: { type: 'string' }, convert: (raw) => (raw.startsWith('"') ? raw : quote(raw)) };
  }
}
