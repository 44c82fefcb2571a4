import { parse as parseArray } from 'postgres-array';

/** How a column type is written into the JSON envelope (see docs/envelope.md). */
export type ValueKind =
  | { kind: 'bool' }
  | { kind: 'number' } // int2, int4, oid: always exact in JSON
  | { kind: 'float' } // float4/8: numbers, or "NaN"/"Infinity"/"-Infinity" strings
  | { kind: 'exact' } // int8, numeric: decimal strings, never rounded
  | { kind: 'json' } // json, jsonb: embedded as JSON, byte for byte
  | { kind: 'bytea' } // base64
  | { kind: 'timestamp' } // ISO 8601 without zone, microseconds
  | { kind: 'timestamptz' } // ISO 8601 in UTC with Z, microseconds
  | { kind: 'string' } // text, varchar, uuid, enums, date, time, interval (ISO 8601), and anything else
  | { kind: 'array'; element: ValueKind };

/** Renders a value's text form (as pgoutput sends it) as a JSON fragment. */
export function renderValue(text: string, type: ValueKind): string {
  switch (type.kind) {
    case 'bool':
      return text === 't' ? 'true' : 'false';
    case 'number':
      return text;
    case 'float':
      return text === 'NaN' || text === 'Infinity' || text === '-Infinity' ? `"${text}"` : text;
    case 'exact':
      return `"${text}"`;
    case 'json':
      return text;
    case 'bytea':
      return `"${Buffer.from(text.slice(2), 'hex').toString('base64')}"`;
    case 'timestamp':
      return JSON.stringify(isoTimestamp(text));
    case 'timestamptz':
      // The common case, "2024-01-02 03:04:05.123456+00", without a regular expression: it runs per value.
      if (text.charCodeAt(4) === 45 && text.charCodeAt(10) === 32 && text.endsWith('+00')) {
        return `"${text.slice(0, 10)}T${text.slice(11, -3)}Z"`;
      }
      return JSON.stringify(isoTimestamptz(text));
    case 'string':
      return JSON.stringify(text);
    case 'array':
      return renderArray(parseArray(text), type.element);
  }
}

type ArrayItem = string | null | ArrayItem[];

function renderArray(items: ArrayItem[], element: ValueKind): string {
  const parts = items.map((item) =>
    item === null ? 'null' : Array.isArray(item) ? renderArray(item, element) : renderValue(item, element),
  );
  return `[${parts.join(',')}]`;
}

function isoTimestamp(text: string): string {
  // "2024-01-02 03:04:05.123456" -> "2024-01-02T03:04:05.123456"; infinity and BC dates pass as they are.
  return /^\d{4}-\d\d-\d\d \d/.test(text) && !text.endsWith(' BC') ? text.replace(' ', 'T') : text;
}

function isoTimestamptz(text: string): string {
  // The replication session runs with TimeZone=UTC, so the server prints "+00".
  if (!/^\d{4}-\d\d-\d\d \d/.test(text) || text.endsWith(' BC')) return text;
  const iso = text.replace(' ', 'T');
  if (iso.endsWith('+00')) return `${iso.slice(0, -3)}Z`;
  return /[+-]\d\d$/.test(iso) ? `${iso}:00` : iso;
}
