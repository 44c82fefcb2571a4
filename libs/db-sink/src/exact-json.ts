import { isLosslessNumber, LosslessNumber, parse, stringify } from 'lossless-json';

/**
 * Stands in, during a parse, for a number a double cannot reproduce. A private-use character: a string
 * of the text can only hold it written as itself or as `\ue000`, and a text showing either is parsed
 * by lossless-json instead, so no string of the message is ever taken for a number.
 */
const MARK = '\ue000';
const ESCAPED_MARK = /\\u[eE]000/;
/** JSON's own number grammar: a token that fails it is left for the parser to reject. */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * JSON parsed without losing a digit of any number, at nearly the speed of JSON.parse: a number whose
 * text a double reproduces exactly (`String(Number(text)) === text`: `6`, `0.5`, `1767225600000`) stays
 * a plain number, any other (`12.50`, `1e3`, `-0`, `12345678901234567890`) becomes a LosslessNumber
 * holding its text. Messages whose numbers all round-trip, the common case, take JSON.parse as they are;
 * the others take it too, with each inexact number written as a marked string (`"\ue00012.50"`) that is
 * turned into its LosslessNumber afterwards: several times faster than lossless-json's own parser,
 * which is left for texts that hold the mark or that are not JSON.
 */
export function parseExact(text: string): unknown {
  const inexact = inexactNumbers(text);
  if (inexact === undefined) return parse(text, null, exactNumber);
  if (inexact.length === 0) return JSON.parse(text);
  if (text.includes(MARK) || ESCAPED_MARK.test(text)) return parse(text, null, exactNumber);
  let marked = '';
  let at = 0;
  for (let k = 0; k < inexact.length; k += 2) {
    marked += `${text.slice(at, inexact[k])}"${MARK}${text.slice(inexact[k], inexact[k + 1])}"`;
    at = inexact[k + 1];
  }
  return unmark(JSON.parse(marked + text.slice(at)));
}

/**
 * parseExact's fast path without its last step: each inexact number stays a marked string
 * (`"\ue00012.50"`), for code that writes the value back as JSON at once (JSON.stringify, then the
 * marked strings unquoted). Undefined when the text holds the mark itself or is not JSON: use parseExact.
 */
export function parseMarked(text: string): unknown {
  const inexact = inexactNumbers(text);
  if (inexact === undefined || text.includes(MARK) || ESCAPED_MARK.test(text)) return undefined;
  if (inexact.length === 0) return JSON.parse(text);
  let marked = '';
  let at = 0;
  for (let k = 0; k < inexact.length; k += 2) {
    marked += `${text.slice(at, inexact[k])}"${MARK}${text.slice(inexact[k], inexact[k + 1])}"`;
    at = inexact[k + 1];
  }
  return JSON.parse(marked + text.slice(at));
}

/** JSON text of a value from parseExact, each LosslessNumber written as its own digits. */
export function stringifyExact(value: unknown): string {
  return holdsLossless(value) ? (stringify(value) as string) : JSON.stringify(value);
}

/** A number's text as parseExact reads it: a plain number when a double reproduces the text, else a LosslessNumber. */
export function exactNumber(text: string): number | LosslessNumber {
  return String(Number(text)) === text ? Number(text) : new LosslessNumber(text);
}

/**
 * Start and end of every number token of `text` (outside strings) that does not read back as the same
 * text from a double, as a flat list; undefined when the text cannot be JSON (an unterminated string, a
 * token that is not a JSON number), for lossless-json to say why.
 */
function inexactNumbers(text: string): number[] | undefined {
  const found: number[] = [];
  const end = text.length;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // To the closing quote: one not preceded by an odd number of backslashes.
      let close = text.indexOf('"', i + 1);
      while (close > 0 && escaped(text, close)) close = text.indexOf('"', close + 1);
      if (close < 0) return undefined;
      i = close;
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      let j = i + 1;
      let digitsOnly = c !== 45;
      for (; j < end; j++) {
        const n = text.charCodeAt(j);
        if (n >= 48 && n <= 57) continue;
        if (!(n === 46 || n === 101 || n === 69 || n === 43 || n === 45)) break;
        digitsOnly = false;
      }
      // The common case without a string: 1 to 15 digits, no leading zero, which a double always reproduces.
      if (digitsOnly && j - i <= 15 && (c !== 48 || j - i === 1)) {
        i = j - 1;
        continue;
      }
      const token = text.slice(i, j);
      if (String(Number(token)) !== token) {
        if (!JSON_NUMBER.test(token)) return undefined;
        found.push(i, j);
      }
      i = j - 1;
    }
  }
  return found;
}

/** The value with each marked string (see parseExact) replaced by the LosslessNumber of its digits. */
function unmark(value: unknown): unknown {
  if (typeof value === 'string') return value.charCodeAt(0) === 0xe000 ? new LosslessNumber(value.slice(1)) : value;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = unmark(value[i]);
    return value;
  }
  const object = value as Record<string, unknown>;
  for (const key in object) {
    const was = object[key];
    const now = unmark(was);
    if (now !== was) object[key] = now;
  }
  return value;
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
