import fc from 'fast-check';
import { copyField, partitionForKey, RowBatchRenderer, type RowBatchFormat } from '@tributary/topic-log';
import { CopyRows, linesByPartition } from '../libs/snapshot/src/copy-rows';

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
          const parts = linesByPartition(rows, keys, partitions, (k) => dropped.has(k));
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
});
