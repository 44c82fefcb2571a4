import type { ColumnSchema } from '@tributary/schema-registry';
import { rowChunks, deleteStatement, upsertStatement } from '@tributary/db-sink';

const ID: ColumnSchema = { name: 'id', type: 'bigint', kind: 'exact' };
const TAGS: ColumnSchema = { name: 'tags', type: 'text[]', kind: 'array' };
const NOTE: ColumnSchema = { name: 'note', type: 'character(3)', kind: 'string' };
const types = new Map([
  ['id', 'bigint'],
  ['tags', 'text[]'],
  ['note', 'bpchar'],
]);

/** The statements of a batch: their shapes repeat from batch to batch, and every row is in exactly one. */
describe('database sink batch statements', () => {
  it.each([1, 15, 16, 17, 500, 2000, 2047])('cuts %i MariaDB rows into few prepared shapes, each row once', (rows) => {
    const chunks = rowChunks(rows, 8, 60_000);
    expect(chunks.reduce((n, c) => n + c.count, 0)).toBe(rows);
    chunks.forEach((c, i) => expect(c.start).toBe(i === 0 ? 0 : chunks[i - 1].start + chunks[i - 1].count));
    for (const c of chunks.filter((x) => x.prepared)) expect([16, 32, 64, 128, 256, 512]).toContain(c.count);
    expect(chunks.filter((c) => !c.prepared).every((c) => c.count < 16)).toBe(true);
  });

  it('keeps every MariaDB statement under the parameter limit for wide tables', () => {
    for (const columns of [300, 4000]) {
      const chunks = rowChunks(1000, columns, 60_000);
      expect(chunks.reduce((n, c) => n + c.count, 0)).toBe(1000);
      expect(Math.max(...chunks.map((c) => c.count * columns))).toBeLessThanOrEqual(60_000);
    }
  });

  it('writes Postgres rows as arrays, array columns as text cast back, with the same text for every batch', () => {
    const rows = [
      { id: '1', tags: ['a', 'b,c', null], note: 'x"y' },
      { id: '2', tags: [], note: null },
    ];
    const s = upsertStatement('"public"."t"', [ID, TAGS, NOTE], ['id'], types, rows);
    expect(s.text).toBe(
      'INSERT INTO "public"."t" ("id", "tags", "note") SELECT u.c1, u.c2::text[], u.c3 ' +
        'FROM unnest($1::bigint[], $2::text[], $3::bpchar[]) AS u(c1, c2, c3) ' +
        'ON CONFLICT ("id") DO UPDATE SET "tags" = EXCLUDED."tags", "note" = EXCLUDED."note"',
    );
    expect(s.values).toEqual(['{"1","2"}', '{"{\\"a\\",\\"b,c\\",NULL}","{}"}', '{"x\\"y",NULL}']);
    expect(upsertStatement('"public"."t"', [ID, TAGS, NOTE], ['id'], types, rows.slice(1)).text).toBe(s.text);
  });

  it('deletes Postgres rows by = ANY for one key column', () => {
    expect(deleteStatement('"t"', [ID], types, [{ id: '7' }])).toEqual({
      text: 'DELETE FROM "t" WHERE "id" = ANY($1::bigint[])',
      values: ['{"7"}'],
    });
  });
});
