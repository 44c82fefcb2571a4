import fc from 'fast-check';
import { RowBatchRenderer, type RowBatchFormat } from '@tributary/topic-log';
import { parseChange, snapshotChange } from '@tributary/db-sink';

const FORMAT: RowBatchFormat = {
  source: 'src',
  database: 'db',
  schema: 'public',
  table: 't',
  columns: [
    { name: 'id', kind: { kind: 'number' } },
    { name: 'code', kind: { kind: 'exact' } },
    { name: 'b', kind: { kind: 'bool' } },
    { name: 'f', kind: { kind: 'float' } },
    { name: 'n', kind: { kind: 'number' } },
    { name: 'j', kind: { kind: 'json' } },
    { name: 'by', kind: { kind: 'bytea' } },
    { name: 'ts', kind: { kind: 'timestamp' } },
    { name: 'tz', kind: { kind: 'timestamptz' } },
    { name: 's', kind: { kind: 'string' } },
    { name: 'a', kind: { kind: 'array', element: { kind: 'exact' } } },
    { name: 'ja', kind: { kind: 'array', element: { kind: 'json' } } },
  ],
  keyIndexes: [0, 1],
  backfill: 7,
  lsn: '0/16B3748',
  commitLsn: '0/16B3790',
  txId: 750,
  commitTimeMs: 1764000000000,
  tsMs: 1764000000123,
};

/** COPY text of a value (backslash escapes; `\N` for NULL). */
const copy = (v: string | null) =>
  v === null ? '\\N' : v.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c] as string);

const ROWS: (string | null)[][] = [
  [
    '1',
    '12.50',
    't',
    '1.5',
    '9007199254740993',
    '{"x": [1, 2.50, 1e3], "s": "q\\"\\\\"}',
    '\\x00ff5c',
    '2024-02-29 11:14:15.123456',
    '2024-02-29 11:14:15.123456+00',
    'tab\there\nnl \\N',
    '{1.10,NULL,"-0"}',
    '{"{\\"a\\": 1.0}",NULL}',
  ],
  ['-0', '0.000', 'f', 'NaN', '12345678901234567890', 'null', '\\x', 'infinity', '2024-02-29 11:14:15+05:30', '', '{}', '{}'],
  ['2', '-1', null, '-Infinity', null, '"s"', null, null, '0044-03-15 10:00:00+00 BC', '\\N', null, null],
  ['3', 'NaN', 't', '1e+300', '0', '[]', '\\x41', '2024-01-01 00:00:00', '-infinity', null, '{{1,2},{3,4}}', '{NULL}'],
];

/** A snapshot row read from its stored fields is the change its rendered envelope parses to, to the digit. */
describe('snapshot rows as database sink changes', () => {
  const renderer = new RowBatchRenderer(FORMAT);
  const same = (values: (string | null)[]) => {
    const fields = values.map(copy);
    const expected = parseChange(renderer.render(['0', ...fields].join('\t')).envelope);
    expect(snapshotChange({ format: FORMAT, fields })).toStrictEqual(expected);
  };

  it('reads every kind of value as parseChange reads the envelope', () => {
    for (const row of ROWS) same(row);
  });

  it('reads any text of string columns, and any number, the same', () => {
    const number = fc.oneof(
      fc.integer().map(String),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
      fc.bigInt().map(String),
    );
    fc.assert(
      fc.property(fc.option(fc.string({ unit: 'binary' })), number, (s, n) => {
        same([n, n, 't', n, n, '{}', null, null, null, s, null, null]);
      }),
      { numRuns: 500 },
    );
  });
});
