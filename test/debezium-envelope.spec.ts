import type { ConsumedMessage } from '@tributary/sink-contract';
import type { ColumnSchema, ValueKindName } from '@tributary/schema-registry';
import { lsnNumber, toDebezium, UNAVAILABLE, type DebeziumOptions } from '@tributary/debezium-envelope';

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

/** One column of type `type` holding our envelope's `raw` value: what Debezium's value is, and its schema. */
function mapped(type: string, kind: ValueKindName, raw: string, decimalHandling?: DebeziumOptions['decimalHandling']) {
  const envelope =
    `{"id":"s:0/2:0","op":"c","key":{"k":1},"before":null,"after":{"k":1,"v":${raw}},"source":{"name":"s","database":"d",` +
    `"schema":"public","table":"t","lsn":"0/1","commitLsn":"0/2","seq":0,"txId":1,"ts_ms":1},"ts_ms":2}`;
  const table = {
    columns: [
      { name: 'k', type: 'integer', kind: 'number' },
      { name: 'v', type, kind },
    ] as ColumnSchema[],
    primaryKey: ['k'],
  };
  const message: ConsumedMessage = { topic: 't', partition: 0, offset: 0n, key: null, envelope, appendedAt: new Date() };
  const text = toDebezium(message, { table, withSchema: true, decimalHandling });
  const value = JSON.parse(text) as {
    schema: { fields: Array<{ fields: Array<Record<string, unknown>> }> };
    payload: { after: { v: unknown } };
  };
  const afterText = /"after":\{"k":1,"v":(.*)\},"source"/.exec(text)?.[1];
  return { value: value.payload.after.v, text: afterText, schema: value.schema.fields[1].fields[1] };
}

describe('the Debezium type mapping (its defaults: decimal precise, time adaptive, interval numeric, binary bytes)', () => {
  it.each([
    ['smallint', 'number', '32767', 32767, { type: 'int16' }],
    ['integer', 'number', '-7', -7, { type: 'int32' }],
    ['bigint', 'exact', '"9223372036854775807"', undefined, { type: 'int64' }],
    ['oid', 'number', '16384', 16384, { type: 'int64' }],
    ['real', 'float', '1.5', 1.5, { type: 'float' }],
    ['double precision', 'float', '"NaN"', 'NaN', { type: 'double' }],
    ['boolean', 'bool', 'true', true, { type: 'boolean' }],
    ['bit(1)', 'string', '"1"', true, { type: 'boolean' }],
    ['text', 'string', '"héllo \\"q\\""', 'héllo "q"', { type: 'string' }],
    ['character varying(10)', 'string', '"abc"', 'abc', { type: 'string' }],
    [
      'uuid',
      'string',
      '"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      { type: 'string', name: 'io.debezium.data.Uuid' },
    ],
    ['json', 'json', '{"b": 1, "a": [1,2]}', '{"b": 1, "a": [1,2]}', { type: 'string', name: 'io.debezium.data.Json' }],
    [
      'jsonb',
      'json',
      '{"a": 12345678901234567890}',
      '{"a": 12345678901234567890}',
      { type: 'string', name: 'io.debezium.data.Json' },
    ],
    ['xml', 'string', '"<a/>"', '<a/>', { type: 'string', name: 'io.debezium.data.Xml' }],
    ['bytea', 'bytea', '"3q2+7w=="', '3q2+7w==', { type: 'bytes' }],
    ['date', 'string', '"2024-02-29"', 19782, { type: 'int32', name: 'io.debezium.time.Date' }],
    ['date', 'string', '"1969-12-31"', -1, { type: 'int32', name: 'io.debezium.time.Date' }],
    ['date', 'string', '"0044-03-15"', -703383, { type: 'int32', name: 'io.debezium.time.Date' }],
    ['time without time zone', 'string', '"13:14:15.5"', 47655500000, { type: 'int64', name: 'io.debezium.time.MicroTime' }],
    ['time(3) without time zone', 'string', '"13:14:15.5"', 47655500, { type: 'int32', name: 'io.debezium.time.Time' }],
    ['time with time zone', 'string', '"13:14:15.5+02"', '11:14:15.5Z', { type: 'string', name: 'io.debezium.time.ZonedTime' }],
    ['time with time zone', 'string', '"01:00:00-05:30"', '06:30:00Z', { type: 'string', name: 'io.debezium.time.ZonedTime' }],
    // the documentation's own example: "2018-06-20 15:13:16.945104" is 1529507596945104
    [
      'timestamp without time zone',
      'timestamp',
      '"2018-06-20T15:13:16.945104"',
      1529507596945104,
      { type: 'int64', name: 'io.debezium.time.MicroTimestamp' },
    ],
    [
      'timestamp(3) without time zone',
      'timestamp',
      '"2018-06-20T15:13:16.945"',
      1529507596945,
      { type: 'int64', name: 'io.debezium.time.Timestamp' },
    ],
    [
      'timestamp(3) without time zone',
      'timestamp',
      '"1969-12-31T23:59:59.9995"',
      -1,
      { type: 'int64', name: 'io.debezium.time.Timestamp' },
    ],
    [
      'timestamp with time zone',
      'timestamptz',
      '"2024-02-29T11:14:15.123456Z"',
      '2024-02-29T11:14:15.123456Z',
      { type: 'string', name: 'io.debezium.time.ZonedTimestamp' },
    ],
    // ((14 months * 365.25/12 + 3 days) * 24 + 4 h) * 3600 + 5 min + 6.5 s
    ['interval', 'string', '"P1Y2M3DT4H5M6.5S"', 37091106500000, { type: 'int64', name: 'io.debezium.time.MicroDuration' }],
    ['interval', 'string', '"PT-1H-30M"', -5400000000, { type: 'int64', name: 'io.debezium.time.MicroDuration' }],
    ['interval', 'string', '"PT0S"', 0, { type: 'int64', name: 'io.debezium.time.MicroDuration' }],
    ['mood', 'string', '"happy"', 'happy', { type: 'string' }],
    ['int4range', 'string', '"[1,5)"', '[1,5)', { type: 'string' }],
    ['inet', 'string', '"10.0.0.1"', '10.0.0.1', { type: 'string' }],
  ])('%s %s', (type, kind, raw, expected, schema) => {
    const out = mapped(type, kind as ValueKindName, raw);
    if (expected !== undefined) expect(out.value).toEqual(expected);
    expect(out.schema).toMatchObject({ ...schema, field: 'v' });
  });

  it('int8 keeps every digit (a JSON number beyond 2^53, written as its digits)', () => {
    expect(mapped('bigint', 'exact', '"9223372036854775807"').text).toBe('9223372036854775807');
    expect(mapped('bigint', 'exact', '"-9007199254740993"').text).toBe('-9007199254740993');
  });

  it("infinite timestamps as Debezium writes them (the JDBC driver's constants)", () => {
    expect(mapped('timestamp without time zone', 'timestamp', '"infinity"').text).toBe('9223372036825200000');
    expect(mapped('timestamp(3) without time zone', 'timestamp', '"-infinity"').text).toBe('-9223372036832400000');
  });

  it("numeric(p,s): Connect Decimal, the unscaled value as big-endian two's complement bytes", () => {
    const decimal = (raw: string, type = 'numeric(10,2)') => mapped(type, 'exact', raw);
    const bytes = (b: number[]) => Buffer.from(b).toString('base64');
    expect(decimal('"1.25"').value).toBe(bytes([0x7d])); // 125
    expect(decimal('"-1.25"').value).toBe(bytes([0x83])); // -125
    expect(decimal('"1.28"').value).toBe(bytes([0x00, 0x80])); // 128 needs a sign byte
    expect(decimal('"-1.28"').value).toBe(bytes([0x80])); // -128 does not
    expect(decimal('"0.00"').value).toBe(bytes([0x00]));
    expect(decimal('"1234.56"').value).toBe(bytes([0x01, 0xe2, 0x40])); // 123456
    expect(decimal('"NaN"').value).toBeNull(); // no Decimal form: null, as in precise mode
    expect(decimal('"1.25"').schema).toEqual({
      type: 'bytes',
      name: 'org.apache.kafka.connect.data.Decimal',
      version: 1,
      parameters: { scale: '2', 'connect.decimal.precision': '10' },
      optional: true,
      field: 'v',
    });
    // 12345678901234567890.123456789 at scale 9: the unscaled value as Java's BigInteger.toByteArray gives it
    const big = 12345678901234567890123456789n;
    const hex = big.toString(16).padStart(Math.ceil(big.toString(16).length / 2) * 2, '0');
    const expected = (parseInt(hex.slice(0, 2), 16) & 0x80 ? '00' : '') + hex;
    expect(decimal('"12345678901234567890.123456789"', 'numeric(30,9)').value).toBe(
      Buffer.from(expected, 'hex').toString('base64'),
    );
  });

  it('numeric without a scale: VariableScaleDecimal, each value with its own scale', () => {
    const out = mapped('numeric', 'exact', '"-12.345"');
    expect(out.value).toEqual({ scale: 3, value: Buffer.from([0xcf, 0xc7]).toString('base64') }); // -12345
    expect(out.schema).toMatchObject({ type: 'struct', name: 'io.debezium.data.VariableScaleDecimal' });
    expect(mapped('numeric', 'exact', '"7"').value).toEqual({ scale: 0, value: 'Bw==' });
  });

  it('decimal.handling.mode string and double', () => {
    expect(mapped('numeric(10,2)', 'exact', '"1.25"', 'string')).toMatchObject({ value: '1.25', schema: { type: 'string' } });
    expect(mapped('numeric(10,2)', 'exact', '"1.25"', 'double')).toMatchObject({ value: 1.25, schema: { type: 'double' } });
    expect(mapped('money', 'string', '"$1,234.56"', 'string').value).toBe('1234.56');
  });

  it('money: a Decimal at scale 2', () => {
    expect(mapped('money', 'string', '"$1,234.56"').value).toBe(Buffer.from([0x01, 0xe2, 0x40]).toString('base64'));
    expect(mapped('money', 'string', '"-$1.00"').value).toBe(Buffer.from([0x9c]).toString('base64')); // -100
  });

  it('arrays: Connect arrays of the element type, nulls kept', () => {
    expect(mapped('integer[]', 'array', '[1,null,3]')).toMatchObject({
      value: [1, null, 3],
      schema: { type: 'array', items: { type: 'int32', optional: true } },
    });
    expect(mapped('numeric(5,2)[]', 'array', '["1.00","-1.28"]').value).toEqual([
      Buffer.from([0x64]).toString('base64'),
      Buffer.from([0x80]).toString('base64'),
    ]);
    expect(mapped('date[]', 'array', '[["2024-02-29"],["1970-01-01"]]').value).toEqual([[19782], [0]]);
    expect(mapped('text[]', 'array', '["a b","c"]').value).toEqual(['a b', 'c']);
  });

  it("an unchanged TOASTed column gets Debezium's placeholder", () => {
    const envelope =
      '{"id":"s:0/2:0","op":"u","key":{"k":1},"before":null,"after":{"k":1},"source":{"name":"s","database":"d",' +
      '"schema":"public","table":"t","lsn":"0/1","commitLsn":"0/2","seq":0,"txId":1,"ts_ms":1},"ts_ms":2,"unchanged_toast":["body","blob"]}';
    const table = {
      columns: [
        { name: 'k', type: 'integer', kind: 'number' },
        { name: 'body', type: 'text', kind: 'string' },
        { name: 'blob', type: 'bytea', kind: 'bytea' },
      ] as ColumnSchema[],
      primaryKey: ['k'],
    };
    const out = JSON.parse(
      toDebezium({ topic: 't', partition: 0, offset: 0n, key: null, envelope, appendedAt: new Date() }, { table }),
    ) as { after: object };
    expect(out.after).toEqual({ k: 1, body: UNAVAILABLE, blob: Buffer.from(UNAVAILABLE).toString('base64') });
  });

  it("without the table's types: values as they are, typed by their JSON form", () => {
    const envelope =
      '{"id":"s:0/2:0","op":"c","key":null,"before":null,"after":{"a":1,"b":"x","c":{"n":12345678901234567890}},"source":{"name":"s",' +
      '"database":"d","schema":"public","table":"t","lsn":"0/1","commitLsn":"0/2","seq":0,"txId":1,"ts_ms":1},"ts_ms":2}';
    const text = toDebezium({ topic: 't', partition: 0, offset: 0n, key: null, envelope, appendedAt: new Date() });
    expect(text).toContain('"after":{"a":1,"b":"x","c":"{\\"n\\":12345678901234567890}"}');
  });
});
