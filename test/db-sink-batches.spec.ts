import type { ColumnSchema } from '@tributary/schema-registry';
import { deleteStatement, IncompatibleTargetError, upsertStatement, valuesStatements } from '@tributary/db-sink';

const ID: ColumnSchema = { name: 'id', type: 'bigint', kind: 'exact' };
const TAGS: ColumnSchema = { name: 'tags', type: 'text[]', kind: 'array' };
const NOTE: ColumnSchema = { name: 'note', type: 'character(3)', kind: 'string' };
const types = new Map([
  ['id', 'bigint'],
  ['tags', 'text[]'],
  ['note', 'bpchar'],
]);
const LIMITS = { targetBytes: 1_000_000, maxBytes: 2_000_000 };

/** The statements of a batch: their shapes repeat from batch to batch, and every row is in exactly one. */
describe('database sink batch statements', () => {
  it('writes MariaDB rows as one statement per batch, each value escaped by mysql2', () => {
    const rows = [
      { id: '1', tags: ['a', "it's"], note: 'x\\y' },
      { id: '2', tags: null, note: null },
    ];
    expect([
      ...valuesStatements('INSERT INTO t (id, tags, note) VALUES ', ' ON DUPLICATE KEY UPDATE x', [ID, TAGS, NOTE], rows, LIMITS),
    ]).toEqual([
      String.raw`INSERT INTO t (id, tags, note) VALUES ('1', '[\"a\",\"it\'s\"]', 'x\\y'), ('2', NULL, NULL) ON DUPLICATE KEY UPDATE x`,
    ]);
  });

  it.each([1, 2, 17, 2000])('cuts %i MariaDB rows into statements within the byte limit, each row once, in order', (count) => {
    const rows = Array.from({ length: count }, (_, i) => ({ id: String(i), tags: null, note: 'é'.repeat(i % 40) }));
    const limits = { targetBytes: 1_000, maxBytes: 2_000 };
    const statements = [...valuesStatements('H ', ' T', [ID, TAGS, NOTE], rows, limits)];
    expect(statements.every((s) => Buffer.byteLength(s) <= limits.targetBytes)).toBe(true);
    const ids = statements.flatMap((s) => [...s.matchAll(/\('(\d+)'/g)].map((m) => Number(m[1])));
    expect(ids).toEqual(rows.map((_, i) => i));
  });

  it('sends a MariaDB row longer than the target alone, and refuses one longer than max_allowed_packet', () => {
    const long = { id: '1', tags: null, note: 'x'.repeat(1_500) };
    const limits = { targetBytes: 1_000, maxBytes: 2_000 };
    expect([...valuesStatements('H ', ' T', [ID, TAGS, NOTE], [{ id: '0' }, long, { id: '2' }], limits)]).toHaveLength(3);
    expect(() => [...valuesStatements('H ', ' T', [ID, TAGS, NOTE], [{ note: 'x'.repeat(2_000) }], limits)]).toThrow(
      IncompatibleTargetError,
    );
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
