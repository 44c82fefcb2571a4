/**
 * Raw text slices of a JSON document, without parsing values: the envelope's `int8`, `numeric` and `json`
 * values must reach the Debezium form with every digit and byte as captured, which `JSON.parse` does not keep
 * (numbers beyond 2^53, the whitespace of a `json` value). Input is trusted to be valid JSON (the capture
 * rendered it); a malformed one throws.
 */

/** The index just past the JSON value that starts at `start` (whitespace before it skipped). */
export function valueEnd(text: string, start: number): number {
  let i = skipSpace(text, start);
  const first = text[i];
  if (first === '"') return stringEnd(text, i);
  if (first !== '{' && first !== '[') {
    while (i < text.length && !',}] \t\r\n'.includes(text[i])) i++;
    return i;
  }
  let depth = 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === '"') i = stringEnd(text, i) - 1;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  throw new Error('unterminated JSON value');
}

/** An object's members as raw value texts, in their order: `{"a": 1}` gives `[["a", "1"]]`. */
export function objectSlices(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let i = skipSpace(text, 0);
  if (text[i] !== '{') throw new Error('not a JSON object');
  i = skipSpace(text, i + 1);
  if (text[i] === '}') return out;
  for (;;) {
    const nameEnd = stringEnd(text, i);
    const name = JSON.parse(text.slice(i, nameEnd)) as string;
    i = skipSpace(text, nameEnd);
    if (text[i] !== ':') throw new Error(`expected ':' after ${JSON.stringify(name)}`);
    const start = skipSpace(text, i + 1);
    const end = valueEnd(text, start);
    out.push([name, text.slice(start, end)]);
    i = skipSpace(text, end);
    if (text[i] === '}') return out;
    if (text[i] !== ',') throw new Error('expected , or } in a JSON object');
    i = skipSpace(text, i + 1);
  }
}

/** An array's elements as raw texts: `[1, "a"]` gives `["1", "\"a\""]`. */
export function arraySlices(text: string): string[] {
  const out: string[] = [];
  let i = skipSpace(text, 0);
  if (text[i] !== '[') throw new Error('not a JSON array');
  i = skipSpace(text, i + 1);
  if (text[i] === ']') return out;
  for (;;) {
    const end = valueEnd(text, i);
    out.push(text.slice(i, end));
    i = skipSpace(text, end);
    if (text[i] === ']') return out;
    if (text[i] !== ',') throw new Error('expected , or ] in a JSON array');
    i = skipSpace(text, i + 1);
  }
}

function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '"') return i + 1;
  }
  throw new Error('unterminated JSON string');
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  return i;
}
