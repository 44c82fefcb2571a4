import fc from 'fast-check';
import type { ValueKind } from '@tributary/pg-source';
import { PreparedAppend, splitJsonArray, type AppendRecord } from '@tributary/topic-log';
import { envelopeParts, renderEnvelope, UNCHANGED_TOAST, type RawValue, type TableInfo } from '@tributary/capture';

/**
 * The platform stores envelopes as text without parsing them (migration TextEnvelopes): these
 * properties are what makes that safe. Every value Postgres can send renders into valid JSON holding
 * that value, and a prepared batch is a JSON array that splits back into exactly its envelopes.
 */

/** One column: its kind, a generator of its pgoutput text, and the JSON value that text must become. */
interface Column {
  kind: ValueKind;
  text: fc.Arbitrary<[string, unknown]>;
}

const pgText = fc.string({ unit: 'binary', maxLength: 30 }).filter((s) => !s.includes('\u0000'));
const two = (n: number) => String(n).padStart(2, '0');

/** A text[] as Postgres prints it: every element quoted, `"` and `\` escaped, NULL bare. */
function pgArray(items: (string | null)[]): string {
  return `{${items.map((i) => (i === null ? 'NULL' : `"${i.replace(/[\\"]/g, (c) => `\\${c}`)}"`)).join(',')}}`;
}

const COLUMNS: Record<string, Column> = {
  id: { kind: { kind: 'exact' }, text: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => [String(n), String(n)]) },
  n: { kind: { kind: 'number' }, text: fc.integer().map((n) => [String(n), n]) },
  f: {
    kind: { kind: 'float' },
    text: fc.double().map((d): [string, unknown] => {
      const text = Number.isNaN(d)
        ? 'NaN'
        : d === Infinity
          ? 'Infinity'
          : d === -Infinity
            ? '-Infinity'
            : Object.is(d, -0)
              ? '-0'
              : String(d); // Postgres prints -0, String() does not
      return [text, Number.isFinite(d) ? d : text];
    }),
  },
  ok: { kind: { kind: 'bool' }, text: fc.boolean().map((b) => [b ? 't' : 'f', b]) },
  name: { kind: { kind: 'string' }, text: pgText.map((s) => [s, s]) },
  doc: { kind: { kind: 'json' }, text: fc.jsonValue().map((v) => [JSON.stringify(v), JSON.parse(JSON.stringify(v))]) },
  tags: {
    kind: { kind: 'array', element: { kind: 'string' } },
    text: fc.array(fc.option(pgText), { maxLength: 5 }).map((a) => [pgArray(a), a]),
  },
  data: {
    kind: { kind: 'bytea' },
    text: fc
      .uint8Array({ maxLength: 20 })
      .map((b) => [`\\x${Buffer.from(b).toString('hex')}`, Buffer.from(b).toString('base64')]),
  },
  at: {
    kind: { kind: 'timestamptz' },
    text: fc
      .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2999-12-31T00:00:00Z'), noInvalidDate: true })
      .map((d) => {
        const day = `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}`;
        const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}.${String(d.getUTCMilliseconds()).padStart(3, '0')}123`;
        return [`${day} ${time}+00`, `${day}T${time}Z`];
      }),
  },
};
const NAMES = Object.keys(COLUMNS);

const TABLE: TableInfo = {
  relation: {
    oid: 16384,
    schema: 'pub"lic',
    name: 'ta\\ble',
    replicaIdentity: 'full',
    columns: NAMES.map((name, i) => ({ name, isKey: i === 0, typeOid: 25, typeMod: -1 })),
  },
  topic: 't',
  partitions: 3,
  keyIndexes: [0],
  kinds: NAMES.map((n) => COLUMNS[n].kind),
  parts: envelopeParts('src', 'd"b', 'pub"lic', 'ta\\ble', NAMES),
};

/** A row's pgoutput values (some NULL, some unchanged TOAST) and the `after` object they must render to. */
const row = fc
  .tuple(
    fc.tuple(...NAMES.map((n) => COLUMNS[n].text)),
    fc.array(fc.constantFrom<'value' | 'null' | 'toast'>('value', 'value', 'null', 'toast'), {
      minLength: NAMES.length,
      maxLength: NAMES.length,
    }),
  )
  .map(([values, states]) => {
    const raw: RawValue[] = [];
    const expected: Record<string, unknown> = {};
    const unchanged: string[] = [];
    NAMES.forEach((name, i) => {
      const state = i === 0 ? 'value' : states[i]; // the key is always sent
      if (state === 'value') {
        raw.push(values[i][0]);
        expected[name] = values[i][1];
      } else if (state === 'null') {
        raw.push(null);
        expected[name] = null;
      } else {
        raw.push(UNCHANGED_TOAST);
        unchanged.push(name);
      }
    });
    return { raw, expected, unchanged };
  });

describe('captured envelopes', () => {
  it('are valid JSON holding every value Postgres sent, and a prepared batch splits back into exactly them', () => {
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 8 }), (rows) => {
        const records: AppendRecord[] = rows.map((r, seq) => {
          const change = renderEnvelope(TABLE, 'u', null, false, r.raw, {
            txId: 7,
            commitLsn: '0/16B3790',
            commitTimeMs: 1764000000000,
            lsn: '0/16B3748',
            seq,
          });
          const envelope = JSON.parse(change.envelope) as Record<string, unknown>;
          expect(envelope.after).toEqual(r.expected);
          expect(envelope.unchanged_toast).toEqual(r.unchanged.length ? r.unchanged : undefined);
          expect(envelope.key).toEqual({ id: r.expected.id });
          expect(envelope.source).toMatchObject({ database: 'd"b', schema: 'pub"lic', table: 'ta\\ble' });
          return {
            topic: 't',
            partition: seq % 3,
            key: change.key,
            envelope: change.envelope,
            sourceLsn: 1n,
            txId: '7',
            commitTimeMs: 1,
          };
        });
        const prepared = new PreparedAppend(records);
        expect(prepared.count).toBe(records.length);
        for (const batch of prepared.batches) {
          const mine = records.filter((r) => r.partition === batch.partition);
          expect(splitJsonArray(batch.envelopes.toString())).toEqual(mine.map((r) => r.envelope));
          expect(JSON.parse(batch.envelopes.toString())).toEqual(mine.map((r) => JSON.parse(r.envelope)));
          expect(JSON.parse(batch.keys)).toEqual(mine.map((r) => r.key));
        }
      }),
      { numRuns: 500 },
    );
  });
});
