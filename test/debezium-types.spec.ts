import type { ConsumedMessage } from '@tributary/sink-contract';
import type { ColumnSchema, ValueKindName } from '@tributary/schema-registry';
import { toDebezium, UNAVAILABLE, type DebeziumOptions } from '@tributary/debezium-envelope';

/**
 * Debezium's type mapping (documentation/modules/ROOT/pages/connectors/postgresql.adoc, "Data type mappings"),
 * value by value: our envelope's rendering of a column (docs/envelope.md) in, Debezium's value and schema out.
 */
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
