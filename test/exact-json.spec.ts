import fc from 'fast-check';
import { isLosslessNumber, parse, stringify } from 'lossless-json';
import { parseExact, stringifyExact } from '@tributary/db-sink';

/** parseExact keeps every number's digits whichever parser it takes, and stringifyExact writes them back. */
describe('exact JSON', () => {
  const texts = [
    '{"a":6,"b":0.5,"c":1767225600000,"s":"x 12.50 \\" 1e3","t":"\\\\","n":null}',
    '{"amount":12.50,"big":12345678901234567890,"e":1e3,"z":-0,"neg":-7,"f":1.5e-7}',
    '{"nested":{"list":[1,2.50,{"x":0.1}]},"q":"\\"12.50\\""}',
    '["\\\\\\"",3.14159265358979323846,42]',
    // Strings holding the mark parseExact writes inexact numbers with, as itself and escaped.
    '{"s":"\ue0001.50","n":1.50}',
    '{"s":"\\ue0001.50","t":"\\uE000","n":[1.50,{"m":2.0}]}',
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

  it('takes short integers as numbers at once, and every integer at the edges of that shortcut exactly', () => {
    const text = '[0,7,999999999999999,9999999999999999,1000000000000000000,-5,-0,10,1e2,12345678901234567890]';
    const value = parseExact(text) as unknown[];
    expect(value.slice(0, 3)).toEqual([0, 7, 999_999_999_999_999]); // 15 digits: always a double's
    expect(value.slice(3).map((v) => [isLosslessNumber(v), String(v)])).toEqual([
      [true, '9999999999999999'], // 16 digits: a double reads it as 10000000000000000
      [false, '1000000000000000000'], // reproduced exactly, a plain number
      [false, '-5'],
      [true, '-0'],
      [false, '10'],
      [true, '1e2'],
      [true, '12345678901234567890'],
    ]);
    expect(() => parseExact('[007]')).toThrow(); // a leading zero is not JSON: the shortcut must not take it
  });

  it('reads numbers after strings that end in escaped backslashes', () => {
    const value = parseExact('{"s":"a\\\\","n":0.10}') as Record<string, unknown>;
    expect(value.s).toBe('a\\');
    expect(String(value.n)).toBe('0.10');
  });

  it('never takes a string for a number, even one that holds the mark', () => {
    const value = parseExact('{"a":"\ue00012.5","b":"\\ue000","c":1.50}') as Record<string, unknown>;
    expect(value.a).toBe('\ue00012.5');
    expect(value.b).toBe('\ue000');
    expect(String(value.c)).toBe('1.50');
  });

  it.each(['{"a":01.50}', '{"a":1.50,"b":-}', '{"a":1.50,"b":"x}', '{"a":1.50,"b":1.}'])(
    'rejects %s as JSON.parse does',
    (text) => {
      expect(() => parseExact(text)).toThrow();
    },
  );

  it('reads what lossless-json reads, digit for digit', () => {
    const decimal = fc
      .tuple(fc.integer({ min: -99999, max: 99999 }), fc.nat({ max: 999 }), fc.constantFrom('', '0', '00', 'e3', 'E-2'))
      .map(([whole, fraction, tail]) => `${whole}.${fraction}${tail}`);
    const text = fc
      .array(
        fc.oneof(
          decimal,
          fc.json(),
          fc.string().map((s) => JSON.stringify(s)),
        ),
        { maxLength: 8 },
      )
      .map((items) => `{${items.map((item, i) => `"k${i}":${item}`).join(',')}}`);
    fc.assert(
      fc.property(text, (t) => {
        expect(stringifyExact(parseExact(t))).toBe(stringify(parse(t)));
      }),
    );
  });
});
