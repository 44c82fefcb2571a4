import { isLosslessNumber, LosslessNumber, parse, stringify } from 'lossless-json';

/**
 * JSON parsed without losing a digit of any number, at nearly the speed of JSON.parse: a number whose
 * text a double reproduces exactly (`String(Number(text)) === text`: `6`, `0.5`, `1767225600000`) stays
 * a plain number, any other (`12.50`, `1e3`, `-0`, `12345678901234567890`) becomes a LosslessNumber
 * holding its text. Messages whose numbers all round-trip, the common case, take JSON.parse as they are.
 */
export function parseExact(text: string): unknown {
  return numbersRoundTrip(text) ? JSON.parse(text) : parse(text, null, exactNumber);
}

/** JSON text of a value from parseExact, each LosslessNumber written as its own digits. */
export function stringifyExact(value: unknown): string {
  return holdsLossless(value) ? (stringify(value) as string) : JSON.stringify(value);
}

/** A number's text as parseExact reads it: a plain number when a double reproduces the text, else a LosslessNumber. */
export function exactNumber(text: string): number | LosslessNumber {
  return String(Number(text)) === text ? Number(text) : new LosslessNumber(text);
}

/** Whether every number token of `text` (outside strings) reads back as the same text from a double. */
function numbersRoundTrip(text: string): boolean {
  const end = text.length;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // To the closing quote: one not preceded by an odd number of backslashes.
      let close = text.indexOf('"', i + 1);
      while (close > 0 && escaped(text, close)) close = text.indexOf('"', close + 1);
      if (close < 0) return false; // not JSON: JSON.parse or the lossless parser will say so
      i = close;
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      let j = i + 1;
      for (; j < end; j++) {
        const n = text.charCodeAt(j);
        if (!((n >= 48 && n <= 57) || n === 46 || n === 101 || n === 69 || n === 43 || n === 45)) break;
      }
      const token = text.slice(i, j);
      if (String(Number(token)) !== token) return false;
      i = j - 1;
    }
  }
  return true;
}

function escaped(text: string, quote: number): boolean {
  let backslashes = 0;
  for (let k = quote - 1; text.charCodeAt(k) === 92; k--) backslashes++;
  return backslashes % 2 === 1;
}

function holdsLossless(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (isLosslessNumber(value)) return true;
  if (Array.isArray(value)) return value.some(holdsLossless);
  for (const key in value) if (holdsLossless((value as Record<string, unknown>)[key])) return true;
  return false;
}
