import fc from 'fast-check';
import { copyField, keyHash, partitionForKey, RowBatchRenderer, type RowBatchFormat } from '@tributary/topic-log';
import { CopyRows, linesByPartition, RowKeys } from '@tributary/snapshot';
import { renderValue, type ValueKind } from '@tributary/pg-source';

/** A value as COPY's text format writes it. */
function copyText(value: string | null): string {
  if (value === null) return '\\N';
  const escapes: Record<string, string> = {
    '\\': '\\\\',
    '\b': '\\b',
    '\f': '\\f',
    '\n': '\\n',
    '\r': '\\r',
    '\t': '\\t',
    '\v': '\\v',
  };
  return [...value].map((c) => escapes[c] ?? c).join('');
}

const FORMAT: RowBatchFormat = {
  source: 'src',
  database: 'db',
  schema: 'public',
  table: 't',
  columns: [
    { name: 'id', kind: { kind: 'exact' } },
    { name: 'note', kind: { kind: 'string' } },
    { name: 'tags', kind: { kind: 'array', element: { kind: 'string' } } },
  ],
  keyIndexes: [0],
  backfill: 7,
  lsn: '0/16B3748',
  commitLsn: '0/16B3790',
  txId: 750,
  commitTimeMs: 1764000000000,
  tsMs: 1764000000123,
};

describe('record batches of snapshot rows', () => {
  it('reads back every COPY text value exactly, escapes included', () => {
    fc.assert(
      fc.property(fc.option(fc.string({ unit: 'binary' })), (value) => {
        expect(copyField(copyText(value))).toBe(value);
      }),
      { numRuns: 1000 },
    );
  });

  it('splits a chunk by partition in key order and renders each row as the documented r envelope', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string(), fc.boolean()), { maxLength: 60 }),
        fc.integer({ min: 1, max: 5 }),
        (specs, partitions) => {
          const rows = new CopyRows();
          const keys: string[] = [];
          specs.forEach(([note], i) => {
            // The array as Postgres prints it ({"a\\b",NULL}), then as COPY escapes that.
            rows.push(Buffer.from(`${i}\t${copyText(note)}\t${copyText('{"a\\\\b",NULL}')}\n`));
            keys.push(`{"id":"${i}"}`);
          });
          const dropped = new Set(specs.flatMap(([, drop], i) => (drop ? [keys[i]] : [])));
          const hashes = Int32Array.from(keys, keyHash);
          const parts = linesByPartition(rows, hashes, partitions, (i) => dropped.has(keys[i]));
          expect(parts).toHaveLength(partitions);

          const seen: { seq: number; id: number; partition: number }[] = [];
          parts.forEach((part, partition) => {
            const lines = part.count ? part.lines.toString('utf8').split('\n') : [];
            expect(lines).toHaveLength(part.count);
            const renderer = new RowBatchRenderer(FORMAT);
            for (const line of lines) {
              const { key, envelope } = renderer.render(line);
              const e = JSON.parse(envelope);
              const id = Number(e.after.id);
              seen.push({ seq: e.source.seq, id, partition });
              expect(key).toBe(keys[id]);
              expect(partitionForKey(key, partitions)).toBe(partition);
              expect(e).toEqual({
                id: `src:0/16B3790:${e.source.seq}`,
                op: 'r',
                key: { id: String(id) },
                before: null,
                after: { id: String(id), note: specs[id][0], tags: ['a\\b', null] },
                source: {
                  name: 'src',
                  database: 'db',
                  schema: 'public',
                  table: 't',
                  lsn: '0/16B3748',
                  commitLsn: '0/16B3790',
                  seq: e.source.seq,
                  txId: 750,
                  ts_ms: 1764000000000,
                  snapshot: true,
                  backfill: 7,
                },
                ts_ms: 1764000000123,
              });
            }
          });
          // Every kept row once; seq numbers the kept rows in key order, from 0.
          const kept = keys.map((_, i) => i).filter((i) => !dropped.has(keys[i]));
          expect(seen.map((s) => s.id).sort((a, b) => a - b)).toEqual(kept);
          for (const s of seen) expect(s.seq).toBe(kept.indexOf(s.id));
          // Within a partition, key order.
          for (let p = 0; p < partitions; p++) {
            const ids = seen.filter((s) => s.partition === p).map((s) => s.id);
            expect(ids).toEqual([...ids].sort((a, b) => a - b));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("hashes a row's key from its bytes exactly as the rendered key hashes", () => {
    const kinds: ValueKind[] = [{ kind: 'number' }, { kind: 'exact' }, { kind: 'string' }, { kind: 'timestamptz' }];
    const value = (kind: ValueKind) =>
      kind.kind === 'number'
        ? fc.integer().map(String)
        : kind.kind === 'exact'
          ? fc.bigInt().map(String)
          : kind.kind === 'timestamptz'
            ? fc.constantFrom('2024-01-02 03:04:05.123456+00', 'infinity')
            : fc.string({ unit: 'grapheme', maxLength: 12 });
    fc.assert(
      fc.property(
        fc.shuffledSubarray([0, 1, 2, 3], { minLength: 1 }),
        fc.array(fc.tuple(...kinds.map(value)), { minLength: 1, maxLength: 20 }),
        (keyIndexes, values) => {
          const shape = { columns: kinds.map((kind, i) => ({ name: `c"${i}`, kind })), keyIndexes };
          const rows = new CopyRows();
          for (const v of values) rows.push(Buffer.from(`${v.map(copyText).join('\t')}\n`));
          const keys = new RowKeys(shape);
          values.forEach((v, i) => {
            // As capture renders a key: the key columns in key order, each value rendered.
            const rendered = `{${keyIndexes.map((c) => `${JSON.stringify(`c"${c}`)}:${renderValue(v[c], kinds[c])}`).join(',')}}`;
            expect(keys.text(rows, i)).toBe(rendered);
            expect(keys.hash(rows, i)).toBe(keyHash(rendered));
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
