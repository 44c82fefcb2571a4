import { isLosslessNumber, parse, stringify } from 'lossless-json';
import { parseExact, stringifyExact } from '@tributary/db-sink';

/** parseExact keeps every number's digits whichever parser it takes, and stringifyExact writes them back. */
describe('exact JSON', () => {
  const texts = [
    '{"a":6,"b":0.5,"c":1767225600000,"s":"x 12.50 \\" 1e3","t":"\\\\","n":null}',
    '{"amount":12.50,"big":12345678901234567890,"e":1e3,"z":-0,"neg":-7,"f":1.5e-7}',
    '{"nested":{"list":[1,2.50,{"x":0.1}]},"q":"\\"12.50\\""}',
    '["\\\\\\"",3.14159265358979323846,42]',
  ];

  it.each(texts)('round-trips %s digit for digit', (text) => {
    expect(stringifyExact(parseExact(text))).toBe(stringify(parse(text)));
  });

  it('keeps numbers a double cannot reproduce as LosslessNumbers, and the rest as numbers', () => {
    const value = parseExact('{"a":12.50,"b":6,"c":"12.50","d":9007199254740993}') as Record<string, unknown>;
    expect(isLosslessNumber(value.a)).toBe(true);
    expect(String(value.a)).toBe('12.50');
    expect(value.b).toBe(6);
    expect(value.c).toBe('12.50');
    expect(String(value.d)).toBe('9007199254740993');
  });

  it('reads numbers after strings that end in escaped backslashes', () => {
    const value = parseExact('{"s":"a\\\\","n":0.10}') as Record<string, unknown>;
    expect(value.s).toBe('a\\');
    expect(String(value.n)).toBe('0.10');
  });
});
