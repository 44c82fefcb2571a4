import { parseExact, parseMarked, stringifyExact } from '@tributary/db-sink';
import { isLosslessNumber } from 'lossless-json';

/** An envelope (docs/envelope.md) as the pipeline works on it: parsed exactly (parseExact), numbers kept to the digit. */
export type Envelope = Record<string, unknown> & {
  op?: string;
  before?: Row | null;
  after?: Row | null;
  source?: Record<string, unknown>;
};
export type Row = Record<string, unknown>;

/** The value at a dot-separated path (`after.meta.country`), or undefined where the path leads nowhere. */
export function valueAt(root: unknown, path: readonly string[]): unknown {
  let at = root;
  for (const part of path) {
    if (typeof at !== 'object' || at === null || !Object.prototype.hasOwnProperty.call(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** A value's text for comparisons and hashing: 42, "42" and an exact 42 are the same; objects as JSON. */
export function textOf(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return value.charCodeAt(0) === 0xe000 ? value.slice(1) : value; // a marked exact number

  if (isLosslessNumber(value)) return (value as { value: string }).value;
  return JSON.stringify(value);
}

/** Sets an own property, `__proto__` included (a column may be called that): never the object's prototype. */
export function put(row: Row, name: string, value: unknown): void {
  if (name === '__proto__') Object.defineProperty(row, name, { value, enumerable: true, writable: true, configurable: true });
  else row[name] = value;
}

/** Stands in for an exact number's digits while JSON.stringify writes the rest (a private-use character). */
const MARK = '\ue000';
const MARKED_NUMBER = /"\ue000([^"]*)"/g;

/**
 * JSON text of a parsed envelope, each exact number (LosslessNumber) written as its own digits, at
 * JSON.stringify's speed: the numbers are written as marked strings, then unquoted. When a string of
 * the envelope holds the mark itself (the count of marks tells), lossless-json's slower writer does it.
 */
export function writeExact(value: unknown): string {
  let exact = 0;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (!isLosslessNumber(v)) return v;
    exact++;
    return MARK + (v as { value: string }).value;
  });
  if (exact === 0) return text;
  let marks = 0;
  for (let at = text.indexOf(MARK); at >= 0; at = text.indexOf(MARK, at + 1)) marks++;
  return marks === exact ? text.replace(MARKED_NUMBER, '$1') : stringifyExact(value);
}

/**
 * An envelope parsed for the pipeline: exact numbers as marked strings (parseMarked: fast, written back
 * by `write` with JSON.stringify), or, when the text holds the mark itself, as LosslessNumbers.
 */
export function readEnvelope(text: string): { value: Envelope; marked: boolean } {
  const marked = parseMarked(text) as Envelope | undefined;
  return marked !== undefined ? { value: marked, marked: true } : { value: parseExact(text) as Envelope, marked: false };
}

/** The JSON text of an envelope readEnvelope gave (its `marked` with it), every exact number as its digits. */
export function writeEnvelope(value: unknown, marked: boolean): string {
  return marked ? JSON.stringify(value).replace(MARKED_NUMBER, '$1') : writeExact(value);
}
