import { createMariadbDatabase, mariadbAvailable, mariadbExpected, mariadbQuery } from './support/mariadb';
import { waitFor } from './support/pg-cluster';
import { SinkBed } from './support/sink-bed';
import { sinkGroup } from './support/sink-groups';

const COLUMNS = `
  id int PRIMARY KEY, i2 smallint, i8 bigint, n numeric(20,6), nu numeric, r real, d double precision, b boolean,
  u uuid, j json, jb jsonb, by bytea, dt date, t time, ts timestamp, tz timestamptz, iv interval,
  vc varchar(20), ch char(3), tx text, ta text[], ia int[], m mood`;

const ROWS = [
  `(1, -32768, 9223372036854775807, 12345678901234.123456, 0.000000000000000000000000000001, 1.5, 3.141592653589793, true,
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2.50]}', '{"b": {"c": null}}', '\\x00ff10', '2024-02-29', '23:59:59.123456',
    '2024-02-29 11:14:15.123456', '2024-02-29 12:14:15.123456+01', '1 year 2 mons 3 days 04:05:06.5', 'héllo', 'abc', 'long ☃ text',
    '{"x","y,z",NULL}', '{1,2,3}', 'happy')`,
  `(2, 0, -9223372036854775808, -0.000001, 123456789012345678901234567890, -0.25, -1e300, false,
    '00000000-0000-0000-0000-000000000000', '[]', '"s"', '\\x', '0001-01-01', '00:00:00', '1970-01-01 00:00:00', '1970-01-01 00:00:00+00',
    '-1 days', '', 'x', '', '{}', '{}', 'sad')`,
  `(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
];

const group = (name: string) => sinkGroup(name, ['src.public.typed'], { onFailure: 'block' });

/** Every source type reaches a Postgres target unchanged and a MariaDB target in its documented mapping. */
describe('database sink type mapping', () => {
  let bed: SinkBed;
  let mysqlUrl: string | undefined;

  beforeAll(async () => {
    bed = await SinkBed.start({
      tables: ['public.typed'],
      partitions: 2,
      prepare: async (cluster) => {
        await cluster.query('src', `CREATE TYPE mood AS ENUM ('sad', 'happy')`);
        await cluster.query('target', `CREATE TYPE mood AS ENUM ('sad', 'happy')`); // auto-create reuses the source type name
        await cluster.query('src', `CREATE TABLE typed (${COLUMNS})`);
      },
    });
    await bed.groups.start(group('types-pg'), bed.postgresSink('types-pg'));
    if (await mariadbAvailable()) {
      mysqlUrl = await createMariadbDatabase(`tributary_types_${process.pid}`);
      await bed.groups.start(group('types-my'), bed.mysqlSink(mysqlUrl, 'types-my'));
    }
    await bed.cluster.query('src', `INSERT INTO typed VALUES ${ROWS.join(', ')}`);
    await bed.cluster.query('src', `UPDATE typed SET tx = tx || '!' WHERE id = 2`);
    for (const name of mysqlUrl ? ['types-pg', 'types-my'] : ['types-pg']) {
      await waitFor(async () => {
        const lag = await bed.repo.lag(name);
        return lag.length > 0 && lag.every((l) => l.lag === '0' && l.status === 'ok') && lag.some((l) => l.committed !== '0');
      }, `${name} to catch up`);
    }
  });

  afterAll(async () => {
    await bed?.stop();
  });

  it('keeps every Postgres type exactly in a Postgres target', async () => {
    const all = 'SELECT * FROM typed ORDER BY id';
    const asText = `SELECT ${[
      'id',
      'i2',
      'i8',
      'n',
      'nu',
      'r',
      'd',
      'b',
      'u',
      'j',
      'jb',
      'by',
      'dt',
      't',
      'ts',
      'tz',
      'iv',
      'vc',
      'ch',
      'tx',
      'ta',
      'ia',
      'm',
    ]
      .map((c) => `${c}::text`)
      .join(', ')} FROM typed ORDER BY id`;
    // json keeps its meaning, not its whitespace: the sink writes the parsed value.
    const comparable = asText.replace('j::text', 'j::jsonb::text');
    expect(await bed.cluster.query('target', comparable)).toEqual(await bed.cluster.query('src', comparable));
    expect((await bed.cluster.query('target', all)).length).toBe(3);
  });

  (mariadbExpected() ? it : it.skip)('maps every type to its documented MariaDB column type and value', async () => {
    if (!mysqlUrl) throw new Error('MariaDB was reachable when the suite loaded but not in beforeAll');
    const types = await mariadbQuery<{ name: string; type: string }>(
      mysqlUrl,
      `SELECT column_name AS name, column_type AS type FROM information_schema.columns
        WHERE table_schema = DATABASE() AND table_name = 'typed' ORDER BY ordinal_position`,
    );
    expect(Object.fromEntries(types.map((t) => [t.name, t.type.toLowerCase()]))).toEqual({
      id: 'int(11)',
      i2: 'smallint(6)',
      i8: 'bigint(20)',
      n: 'decimal(20,6)',
      nu: 'decimal(65,30)',
      r: 'float',
      d: 'double',
      b: 'tinyint(1)',
      u: 'char(36)',
      j: 'longtext', // MariaDB's JSON is LONGTEXT with a JSON_VALID check
      jb: 'longtext',
      by: 'longblob',
      dt: 'date',
      t: 'time(6)',
      ts: 'datetime(6)',
      tz: 'datetime(6)',
      iv: 'varchar(64)',
      vc: 'varchar(20)',
      ch: 'char(3)',
      tx: 'longtext',
      ta: 'longtext',
      ia: 'longtext',
      m: 'longtext',
    });
    const rows = await mariadbQuery<Record<string, unknown>>(
      mysqlUrl,
      `SELECT id, i2, CAST(i8 AS CHAR) AS i8, CAST(n AS CHAR) AS n, CAST(nu AS CHAR) AS nu, r, d, b, u,
              CONCAT('', j) AS j, CONCAT('', jb) AS jb, hex(\`by\`) AS \`by\`, dt, t, ts, tz, iv, vc, ch, tx,
              CONCAT('', ta) AS ta, CONCAT('', ia) AS ia, m FROM typed ORDER BY id`,
    );
    const json = (v: unknown) => (v === null ? null : JSON.parse(v as string)); // CONCAT: text, not mysql2's parsed JSON
    const got = rows.map((r) => ({ ...r, j: json(r.j), jb: json(r.jb), ta: json(r.ta), ia: json(r.ia) }));
    expect(got).toEqual([
      {
        id: 1,
        i2: -32768,
        i8: '9223372036854775807',
        n: '12345678901234.123456',
        nu: '0.000000000000000000000000000001',
        r: 1.5,
        d: 3.141592653589793,
        b: 1,
        u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
        j: { a: [1, 2.5] },
        jb: { b: { c: null } },
        by: '00FF10',
        dt: '2024-02-29',
        t: '23:59:59.123456',
        ts: '2024-02-29 11:14:15.123456',
        tz: '2024-02-29 11:14:15.123456', // UTC
        iv: 'P1Y2M3DT4H5M6.5S',
        vc: 'héllo',
        ch: 'abc',
        tx: 'long ☃ text',
        ta: ['x', 'y,z', null],
        ia: [1, 2, 3],
        m: 'happy',
      },
      {
        id: 2,
        i2: 0,
        i8: '-9223372036854775808',
        n: '-0.000001',
        nu: '123456789012345678901234567890.000000000000000000000000000000',
        r: -0.25,
        d: -1e300,
        b: 0,
        u: '00000000-0000-0000-0000-000000000000',
        j: [],
        jb: 's',
        by: '',
        dt: '0001-01-01',
        t: '00:00:00.000000',
        ts: '1970-01-01 00:00:00.000000',
        tz: '1970-01-01 00:00:00.000000',
        iv: 'P-1D',
        vc: '',
        ch: 'x',
        tx: '!',
        ta: [],
        ia: [],
        m: 'sad',
      },
      Object.fromEntries(Object.keys(rows[0]).map((k) => [k, k === 'id' ? 3 : null])),
    ]);
  });
});
