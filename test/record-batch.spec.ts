import fc from 'fast-check';
import { splitJsonArray } from '@tributary/topic-log';

describe('record batch reading', () => {
  it('splits a JSON array into the exact text of each element', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue()), (values) => {
        const texts = values.map((v) => JSON.stringify(v));
        expect(splitJsonArray(`[${texts.join(',')}]`)).toEqual(texts);
        // Whitespace between elements (as Postgres' json_build_array writes) is not part of them.
        const spaced = splitJsonArray(JSON.stringify(values, null, 2));
        expect(spaced.map((t) => JSON.parse(t))).toEqual(JSON.parse(JSON.stringify(values)));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps escapes, brackets and commas inside strings', () => {
    const elements = ['{"a":"x\\"],[{,"}', '"\\\\"', '{"b":[1,{"c":"]"}]}', 'null', '-1.5e3', '"😀"'];
    expect(splitJsonArray(`[${elements.join(',')}]`)).toEqual(elements);
    expect(splitJsonArray('[]')).toEqual([]);
    expect(splitJsonArray(' [ {"a":1} , 2 ] ')).toEqual(['{"a":1}', '2']);
  });

  it('refuses text that ends before the array does', () => {
    expect(() => splitJsonArray('[{"a":1}')).toThrow('not a complete JSON array');
  });
});
