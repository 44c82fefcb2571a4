import { groupSchema } from '@tributary/config';
import { MysqlDialect } from '@tributary/db-sink';
import { createMariadbDatabase, mariadbAvailable, mariadbQuery } from '../support/mariadb';
import { waitFor } from '../support/pg-cluster';
import { SinkBed } from '../support/sink-bed';
import { sinkGroup } from '../support/sink-groups';

/**
 * A captured table's name is one identifier in the target, whatever it holds: `public."app.users"`
 * is the table `app.users` in the target's default schema, never the table `users` of a schema `app`.
 * Names a target cannot hold exactly are refused with a blocked partition naming the table.
 */
describe('target names: a source table name never leaves its one identifier', () => {
  /** Source tables of schema public, created with these exact names, each with hostile column names too. */
  const NAMES = [
    'app.users',
    'quo"te',
    'back`tick',
    'with space',
    'ünïcödé 表',
    'é'.repeat(31) + 'x', // 63 bytes: Postgres' limit
    'n'.repeat(63), // the longest name Postgres has, within MySQL's 64 characters
    'Users', // and `users`: one row of a case-insensitive offsets key before
    'users',
  ];
  const COLUMNS = ['col.dot', 'col"quote', 'col`tick', 'col space', 'c'.repeat(63)];
  const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
  let bed: SinkBed;
  let mysqlUrl: string;

  beforeAll(async () => {
    bed = await SinkBed.start({
      tables: ['public.*', 'odd.*'],
      prepare: async (cluster) => {
        const columns = COLUMNS.map((c) => `${q(c)} text`).join(', ');
        for (const name of NAMES) await cluster.query('src', `CREATE TABLE public.${q(name)} (id int PRIMARY KEY, ${columns})`);
        await cluster.query('src', 'CREATE SCHEMA odd');
        await cluster.query('src', `CREATE TABLE odd."trail " (id int PRIMARY KEY)`);
        await cluster.query('src', `CREATE TABLE odd.twins (id int PRIMARY KEY, "Name" text, name text)`);
        // The unrelated target table a dotted name used to be split into, and its MariaDB look-alike.
        await cluster.query('target', 'CREATE SCHEMA app');
        await cluster.query('target', `CREATE TABLE app.users (id int PRIMARY KEY, name text)`);
        await cluster.query('target', `INSERT INTO app.users VALUES (1, 'keep me'), (2, 'and me')`);
        await mariadbAvailable();
        mysqlUrl = await createMariadbDatabase(`tributary_names_${process.pid}`);
        await mariadbQuery(mysqlUrl, 'CREATE TABLE users_unrelated (id int PRIMARY KEY, name text)');
      },
    });
    const pg = (group: string) => bed.postgresSink(group);
    const my = (group: string) => bed.mysqlSink(mysqlUrl, group);
    const group = (name: string, topics: string[]) =>
      sinkGroup(name, topics, { retry: { maxAttempts: 1, initialBackoffMs: 10, maxBackoffMs: 100 } });
    await bed.groups.start(group('names-pg', ['src.public.*']), pg('names-pg'));
    await bed.groups.start(group('names-my', ['src.public.*']), my('names-my'));
    await bed.groups.start(group('odd-pg', ['src.odd.*']), pg('odd-pg'));
    // One group per refused table: a blocked partition holds up the rest of its member's partitions.
    await bed.groups.start(group('trail-my', ['src.odd.trail ']), my('trail-my'));
    await bed.groups.start(group('twins-my', ['src.odd.twins']), my('twins-my'));
  });

  afterAll(async () => {
    await bed?.stop();
  });

  const caughtUp = (names: string[]) => bed.caughtUp(names);
  const insert = async (table: string, rows: number, from = 1) => {
    const values = COLUMNS.map((_, i) => `'${i}:' || g || ' ' || $1`).join(', ');
    await bed.source.query(
      `INSERT INTO public.${q(table)} SELECT g, ${values} FROM generate_series(${from}, ${from + rows - 1}) g`,
      [table],
    );
  };
  const sourceRows = (table: string) => bed.cluster.query('src', `SELECT * FROM public.${q(table)} ORDER BY id`);

  it('writes public."app.users" to the table "app.users" of the default schema and leaves app.users alone', async () => {
    for (const [i, name] of NAMES.entries()) await insert(name, 3 + i);
    await caughtUp(['names-pg', 'names-my']);

    expect(await bed.cluster.query('target', 'SELECT id, name FROM app.users ORDER BY id')).toEqual([
      { id: 1, name: 'keep me' },
      { id: 2, name: 'and me' },
    ]);
    const appColumns = await bed.cluster.query<{ c: string }>(
      'target',
      `SELECT column_name AS c FROM information_schema.columns WHERE table_schema = 'app' AND table_name = 'users' ORDER BY ordinal_position`,
    );
    expect(appColumns.map((r) => r.c)).toEqual(['id', 'name']);
    const pgTables = await bed.cluster.query<{ name: string }>(
      'target',
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname = 'public' AND c.relname <> 'tributary_offsets' ORDER BY 1`,
    );
    expect(pgTables.map((t) => t.name).sort()).toEqual([...NAMES].sort());
    for (const name of NAMES) {
      expect(await bed.cluster.query('target', `SELECT * FROM public.${q(name)} ORDER BY id`)).toEqual(await sourceRows(name));
    }

    expect(await mariadbQuery(mysqlUrl, 'SELECT * FROM users_unrelated')).toEqual([]);
    const myTables = await mariadbQuery<{ name: string }>(
      mysqlUrl,
      `SELECT table_name AS name FROM information_schema.tables
        WHERE table_schema = DATABASE() AND table_name NOT IN ('tributary_offsets', 'users_unrelated')`,
    );
    expect(myTables.map((t) => t.name).sort()).toEqual([...NAMES].sort());
    for (const name of NAMES) {
      const rows = await mariadbQuery(mysqlUrl, `SELECT * FROM \`${name.replace(/`/g, '``')}\` ORDER BY id`);
      expect(rows).toEqual(await sourceRows(name));
    }
  });

  it('keeps the offsets of topics whose names differ only in case apart (MariaDB compares VARCHARs without case)', async () => {
    await insert('Users', 40, 100);
    await caughtUp(['names-pg', 'names-my']);
    await insert('users', 2, 100);
    await caughtUp(['names-pg', 'names-my']);
    for (const name of ['Users', 'users']) {
      const rows = await mariadbQuery(mysqlUrl, `SELECT * FROM \`${name}\` ORDER BY id`);
      expect(rows).toEqual(await sourceRows(name));
    }
  });

  it('refuses, naming the table, what MariaDB cannot hold exactly; Postgres takes it', async () => {
    await bed.source.query(`INSERT INTO odd."trail " VALUES (1)`);
    await bed.source.query(`INSERT INTO odd.twins VALUES (1, 'upper', 'lower')`);
    await caughtUp(['odd-pg']);
    expect(await bed.cluster.query('target', 'SELECT * FROM public."trail "')).toEqual([{ id: 1 }]);
    expect(await bed.cluster.query('target', 'SELECT * FROM public.twins')).toEqual([{ id: 1, Name: 'upper', name: 'lower' }]);

    const blocked = (group: string) =>
      waitFor(
        async () => (await bed.repo.lag(group)).find((l) => l.status === 'blocked')?.statusDetail,
        `${group} to report its block`,
      );
    expect(await blocked('trail-my')).toMatch(
      /source table odd\."trail " cannot be written to target table "trail ": the table name "trail " ends with a space/,
    );
    expect(await blocked('twins-my')).toMatch(/the column names "Name" and "name" differ only in case/);
    const odd = await mariadbQuery(
      mysqlUrl,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN ('trail', 'twins')`,
    );
    expect(odd).toEqual([]);
  });

  it('converts a MySQL offsets table of an earlier version to byte keys, keeping its offsets', async () => {
    const url = await createMariadbDatabase(`tributary_names_old_${process.pid}`);
    await mariadbQuery(
      url,
      `CREATE TABLE tributary_offsets (group_name VARCHAR(100) NOT NULL, topic VARCHAR(200) NOT NULL,
         \`partition\` INT NOT NULL, next_offset BIGINT NOT NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
         PRIMARY KEY (group_name, topic, \`partition\`)) ENGINE=InnoDB DEFAULT CHARSET=latin1`,
    );
    await mariadbQuery(url, `INSERT INTO tributary_offsets (group_name, topic, \`partition\`, next_offset) VALUES (?, ?, 0, 7)`, [
      'g',
      'src.public.tâble',
    ]);
    const dialect = await MysqlDialect.connect(url);
    try {
      await dialect.prepare();
      await dialect.begin();
      expect((await dialect.lockOffset('g', 'src.public.tâble', 0))?.nextOffset).toBe(7n);
      expect(await dialect.lockOffset('g', 'src.public.TÂBLE', 0)).toBeUndefined();
      await dialect.commit();
    } finally {
      await dialect.close();
    }
    const types = await mariadbQuery<{ c: string; t: string }>(
      url,
      `SELECT column_name AS c, data_type AS t FROM information_schema.columns
        WHERE table_schema = DATABASE() AND table_name = 'tributary_offsets' AND column_name IN ('group_name', 'topic') ORDER BY 1`,
    );
    expect(types).toEqual([
      { c: 'group_name', t: 'varbinary' },
      { c: 'topic', t: 'varbinary' },
    ]);
  });

  it('accepts explicit targets only as plain identifiers: schema.table on Postgres, table on MySQL (64 characters at most)', () => {
    const sink = (type: 'postgres' | 'mysql', target: string) =>
      groupSchema.safeParse({
        name: 'g',
        topics: ['t'],
        sink: { type, url: `${type}://h/db`, tables: [{ source: 'public.x', target }] },
      });
    expect(sink('postgres', 'app.users').success).toBe(true);
    expect(sink('mysql', 't'.repeat(64)).success).toBe(true);
    for (const [type, target] of [
      ['mysql', 't'.repeat(65)],
      ['mysql', 'app.users'],
      ['postgres', 't'.repeat(64)],
      ['postgres', 'a.b.c'],
      ['postgres', 'a"b'],
      ['mysql', 'a`b'],
    ] as const) {
      const parsed = sink(type, target);
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0].path).toEqual(['sink', 'tables', 0, 'target']);
    }
  });
});
