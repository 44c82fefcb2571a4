import type { ConsumedMessage } from '@tributary/sink-contract';
import type { ColumnSchema } from '@tributary/schema-registry';
import { lsnNumber, toDebezium, type DebeziumOptions } from '@tributary/debezium-envelope';

/**
 * Field by field against the change events of Debezium's PostgreSQL connector documentation
 * (documentation/modules/ROOT/pages/connectors/postgresql.adoc: "create events", "update events", "delete events",
 * "truncate events", "Data type mappings"). The documented table:
 *   CREATE TABLE customers (id SERIAL, first_name VARCHAR(255) NOT NULL, last_name VARCHAR(255) NOT NULL,
 *                           email VARCHAR(255) NOT NULL, PRIMARY KEY(id));
 * Our envelope of the same change goes in; Debezium's documented value must come out, except where noted.
 */

const lsnText = (n: number): string =>
  `${Math.floor(n / 2 ** 32)
    .toString(16)
    .toUpperCase()}/${(n % 2 ** 32).toString(16).toUpperCase()}`;

const CUSTOMERS = {
  columns: [
    { name: 'id', type: 'integer', kind: 'number' },
    { name: 'first_name', type: 'character varying(255)', kind: 'string' },
    { name: 'last_name', type: 'character varying(255)', kind: 'string' },
    { name: 'email', type: 'character varying(255)', kind: 'string' },
  ] as ColumnSchema[],
  primaryKey: ['id'],
};

interface Change {
  op: string;
  before?: unknown;
  after?: unknown;
  lsn: number;
  commitLsn?: number;
  txId: number;
  sourceTsMs: number;
  tsMs: number;
  extraSource?: Record<string, unknown>;
  unchanged?: string[];
}

/** Our envelope (docs/envelope.md) of a change to `public.customers` of the source `PostgreSQL_server`. */
function ours(c: Change): ConsumedMessage {
  const commit = lsnText(c.commitLsn ?? c.lsn + 100);
  const envelope = JSON.stringify({
    id: `PostgreSQL_server:${commit}:0`,
    op: c.op,
    key: c.op === 't' ? null : { id: 1 },
    before: c.before ?? null,
    after: c.after ?? null,
    source: {
      name: 'PostgreSQL_server',
      database: 'postgres',
      schema: 'public',
      table: 'customers',
      lsn: lsnText(c.lsn),
      commitLsn: commit,
      seq: 0,
      txId: c.txId,
      ts_ms: c.sourceTsMs,
      ...c.extraSource,
    },
    ts_ms: c.tsMs,
    ...(c.unchanged ? { unchanged_toast: c.unchanged } : {}),
  });
  return { topic: 'PostgreSQL_server.public.customers', partition: 0, offset: 0n, key: null, envelope, appendedAt: new Date() };
}

const debezium = (c: Change, options: DebeziumOptions = { table: CUSTOMERS }): Record<string, unknown> =>
  JSON.parse(toDebezium(ours(c), options)) as Record<string, unknown>;

/** The documented `source` block, field by field, as we write it (see the notes at each difference). */
function expectSource(source: Record<string, unknown>, expected: Record<string, unknown>, commitLsn: number): void {
  expect(Object.keys(source)).toEqual([
    'version',
    'connector',
    'name',
    'ts_ms',
    'ts_us',
    'ts_ns',
    'snapshot',
    'db',
    'sequence',
    'schema',
    'table',
    'txId',
    'lsn',
    'xmin',
  ]);
  for (const name of ['connector', 'name', 'ts_ms', 'db', 'schema', 'table', 'txId', 'lsn', 'xmin']) {
    expect([name, source[name]]).toEqual([name, expected[name]]);
  }
  // The connector writes `snapshot` as a string enum (its schema: io.debezium.data.Enum, default "false");
  // the documentation's examples print a boolean.
  expect(source.snapshot).toBe(String(expected.snapshot));
  // Our times are milliseconds: ts_us and ts_ns are ts_ms scaled.
  expect(source.ts_us).toBe((expected.ts_ms as number) * 1_000);
  expect(source.ts_ns).toBe((expected.ts_ms as number) * 1_000_000);
  // [commit LSN of the change's transaction, the change's LSN], as decimal strings.
  expect(JSON.parse(source.sequence as string)).toEqual([String(commitLsn), String(expected.lsn)]);
  expect(source.version).toBe('tributary');
}

describe('the Debezium envelope, against the PostgreSQL connector documentation', () => {
  it('a create event', () => {
    const after = { id: 1, first_name: 'Anne', last_name: 'Kretchmar', email: 'annek@noanswer.org' };
    const value = debezium({
      op: 'c',
      after,
      lsn: 24023128,
      commitLsn: 24023200,
      txId: 555,
      sourceTsMs: 1559033904863,
      tsMs: 1559033904863,
    });
    // documented payload
    expect(value.before).toBeNull();
    expect(value.after).toEqual({ id: 1, first_name: 'Anne', last_name: 'Kretchmar', email: 'annek@noanswer.org' });
    expect(Object.keys(value.after as object)).toEqual(['id', 'first_name', 'last_name', 'email']);
    expect(value.op).toBe('c');
    expect(value.ts_ms).toBe(1559033904863);
    expect(Object.keys(value)).toEqual(['before', 'after', 'source', 'op', 'ts_ms', 'ts_us', 'ts_ns']);
    expectSource(
      value.source as Record<string, unknown>,
      {
        connector: 'postgresql',
        name: 'PostgreSQL_server',
        ts_ms: 1559033904863,
        snapshot: false,
        db: 'postgres',
        schema: 'public',
        table: 'customers',
        txId: 555,
        lsn: 24023128,
        xmin: null,
      },
      24023200,
    );
  });

  it('an update event: `before` as our envelope has it, `after` the new row', () => {
    // The documentation's update shows `before: {"id": 1}`; with REPLICA IDENTITY DEFAULT Postgres sends no old
    // row for an update that keeps the key, and our envelope (and so this value) then has `before: null`.
    const after = { id: 1, first_name: 'Anne Marie', last_name: 'Kretchmar', email: 'annek@noanswer.org' };
    const value = debezium({
      op: 'u',
      before: { id: 1 },
      after,
      lsn: 24023128,
      txId: 556,
      sourceTsMs: 1559033904863,
      tsMs: 1465584025523,
    });
    expect(value.before).toEqual({ id: 1 });
    expect(value.after).toEqual(after);
    expect(value.op).toBe('u');
    expect(value.ts_ms).toBe(1465584025523);
    expect(value.ts_us).toBe(1465584025523000);
    expectSource(
      value.source as Record<string, unknown>,
      {
        connector: 'postgresql',
        name: 'PostgreSQL_server',
        ts_ms: 1559033904863,
        snapshot: false,
        db: 'postgres',
        schema: 'public',
        table: 'customers',
        txId: 556,
        lsn: 24023128,
        xmin: null,
      },
      24023228,
    );
  });

  it('a delete event: `before` only the key (REPLICA IDENTITY DEFAULT), `after` null', () => {
    const change = { op: 'd', before: { id: 1 }, lsn: 46523128, txId: 556, sourceTsMs: 1559033904863, tsMs: 1465581902461 };
    const value = debezium(change);
    expect(value.before).toEqual({ id: 1 });
    expect(value.after).toBeNull();
    expect(value.op).toBe('d');
    expect(value.ts_ms).toBe(1465581902461);
    expectSource(
      value.source as Record<string, unknown>,
      {
        connector: 'postgresql',
        name: 'PostgreSQL_server',
        ts_ms: 1559033904863,
        snapshot: false,
        db: 'postgres',
        schema: 'public',
        table: 'customers',
        txId: 556,
        lsn: 46523128,
        xmin: null,
      },
      46523228,
    );
    // With the schema, Kafka Connect's JSON converter writes every field of the struct: the others are null.
    const withSchema = debezium(change, { table: CUSTOMERS, withSchema: true });
    expect((withSchema.payload as Record<string, unknown>).before).toEqual({
      id: 1,
      first_name: null,
      last_name: null,
      email: null,
    });
  });

  it('a truncate event: no `before`, no `after`', () => {
    const value = debezium({ op: 't', lsn: 46523128, txId: 556, sourceTsMs: 1559033904863, tsMs: 1559033904961 });
    expect(Object.keys(value)).toEqual(['source', 'op', 'ts_ms', 'ts_us', 'ts_ns']);
    expect(value.op).toBe('t');
    expect(value.ts_ms).toBe(1559033904961);
    expectSource(
      value.source as Record<string, unknown>,
      {
        connector: 'postgresql',
        name: 'PostgreSQL_server',
        ts_ms: 1559033904863,
        snapshot: false,
        db: 'postgres',
        schema: 'public',
        table: 'customers',
        txId: 556,
        lsn: 46523128,
        xmin: null,
      },
      46523228,
    );
  });

  it('snapshot rows are op r with snapshot "true"; a backfill\'s "incremental", as Debezium\'s incremental snapshots', () => {
    const after = { id: 1, first_name: 'A', last_name: 'B', email: 'c' };
    const snap = debezium({ op: 'r', after, lsn: 100, txId: 7, sourceTsMs: 1, tsMs: 2, extraSource: { snapshot: true } });
    expect([snap.op, (snap.source as Record<string, unknown>).snapshot]).toEqual(['r', 'true']);
    const back = debezium({
      op: 'r',
      after,
      lsn: 100,
      txId: 7,
      sourceTsMs: 1,
      tsMs: 2,
      extraSource: { snapshot: true, backfill: 3 },
    });
    expect((back.source as Record<string, unknown>).snapshot).toBe('incremental');
  });

  it('the schema part: the documented Envelope, Value and Source schemas', () => {
    const after = { id: 1, first_name: 'Anne', last_name: 'Kretchmar', email: 'annek@noanswer.org' };
    const value = debezium(
      { op: 'c', after, lsn: 24023128, txId: 555, sourceTsMs: 1, tsMs: 2 },
      { table: CUSTOMERS, withSchema: true },
    );
    expect(Object.keys(value)).toEqual(['schema', 'payload']);
    const schema = value.schema as { type: string; name: string; optional: boolean; fields: Array<Record<string, unknown>> };
    expect([schema.type, schema.optional, schema.name]).toEqual(['struct', false, 'PostgreSQL_server.public.customers.Envelope']);
    expect(schema.fields.map((f) => f.field)).toEqual(['before', 'after', 'source', 'op', 'ts_ms', 'ts_us', 'ts_ns']);
    const [before, after2, source, op, tsMs] = schema.fields;
    for (const row of [before, after2]) {
      expect(row).toMatchObject({ type: 'struct', optional: true, name: 'PostgreSQL_server.public.customers.Value' });
      // The documented fields; `optional` is false for the key only (the schema registry keeps no NOT NULL).
      expect(row.fields).toEqual([
        { type: 'int32', optional: false, field: 'id' },
        { type: 'string', optional: true, field: 'first_name' },
        { type: 'string', optional: true, field: 'last_name' },
        { type: 'string', optional: true, field: 'email' },
      ]);
    }
    expect(source).toMatchObject({ type: 'struct', optional: false, name: 'io.debezium.connector.postgresql.Source' });
    const sourceFields = (source.fields as Array<Record<string, unknown>>).map((f) => [f.field, f.type, f.optional]);
    expect(sourceFields).toEqual([
      ['version', 'string', false],
      ['connector', 'string', false],
      ['name', 'string', false],
      ['ts_ms', 'int64', false],
      ['ts_us', 'int64', true],
      ['ts_ns', 'int64', true],
      ['snapshot', 'string', true],
      ['db', 'string', false],
      ['sequence', 'string', true],
      ['schema', 'string', false],
      ['table', 'string', false],
      ['txId', 'int64', true],
      ['lsn', 'int64', true],
      ['xmin', 'int64', true],
    ]);
    expect(op).toEqual({ type: 'string', optional: false, field: 'op' });
    expect(tsMs).toEqual({ type: 'int64', optional: true, field: 'ts_ms' });
  });

  it('LSNs are the 64-bit number', () => {
    expect(lsnNumber('0/16E9058')).toBe('24023128');
    expect(lsnNumber('16/B374D848')).toBe(String(0x16n * 2n ** 32n + 0xb374d848n));
    expect(lsnNumber('FFFFFFFF/FFFFFFFF')).toBe('18446744073709551615');
  });
});
