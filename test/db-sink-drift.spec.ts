import { GroupRepository, MessageNotifier } from '@tributary/consumer-groups';
import { DatabaseSink, MysqlDialect, PostgresDialect, type TableMapping } from '@tributary/db-sink';
import { TableSchemaRepository } from '@tributary/schema-registry';
import { CaptureHarness, platformConfig, sourceConfig } from './support/capture-harness';
import { createMariadbDatabase, mariadbAvailable, mariadbQuery } from './support/mariadb';
import { TestCluster, waitFor } from './support/pg-cluster';
import { sinkGroup, SinkGroups } from './support/sink-groups';

const group = (name: string, table: string) => sinkGroup(name, [`src.public.${table}`]);

/** Schema drift and target trouble pause only the affected sink, and resuming after the fix loses nothing. */
describe('database sinks under schema drift and target outages', () => {
  let cluster: TestCluster;
  let target: TestCluster;
  let harness: CaptureHarness;
  let notifier: MessageNotifier;
  let repo: GroupRepository;
  let schemas: TableSchemaRepository;
  let groups: SinkGroups;
  const src = (sql: string) => cluster.query('src', sql);

  beforeAll(async () => {
    cluster = await TestCluster.start(15);
    target = await TestCluster.start(18);
    await cluster.createDatabase('src');
    const platformUrl = await cluster.createDatabase('platform');
    for (const db of ['loose', 'strict', 'outage']) await target.createDatabase(db);
    await src('CREATE TABLE items (id int PRIMARY KEY, name text)');
    await src('CREATE TABLE widgets (id int PRIMARY KEY, label text)');
    await src('CREATE TABLE gadgets (id int PRIMARY KEY, label text)');
    harness = await CaptureHarness.start(
      platformConfig(
        platformUrl,
        [sourceConfig('src', cluster.url('src'), ['public.items', 'public.widgets', 'public.gadgets'])],
        2,
      ),
    );
    notifier = new MessageNotifier(platformUrl);
    await notifier.start();
    repo = new GroupRepository(harness.db.pool);
    groups = new SinkGroups(repo, notifier);
    schemas = new TableSchemaRepository(harness.db.pool);
  });

  afterAll(async () => {
    await groups?.stop();
    await notifier?.close();
    await harness?.stop();
    await target?.stop();
    await cluster?.stop();
  });

  const run = (name: string, table: string, sink: DatabaseSink) => groups.start(group(name, table), sink);
  const pgSink = (name: string, db: string, autoCreate: boolean) =>
    new DatabaseSink(
      () => PostgresDialect.connect(target.url(db), 'public'),
      schemas,
      { group: name, autoCreate, addColumns: true },
      'postgres',
    );

  const caughtUp = (name: string) =>
    waitFor(async () => {
      const lag = await repo.lag(name);
      return lag.length > 0 && lag.every((l) => l.lag === '0' && l.status === 'ok');
    }, `group ${name} to catch up`);
  const blocked = (name: string, reason: RegExp) =>
    waitFor(
      async () => (await repo.lag(name)).find((l) => l.status === 'blocked' && reason.test(l.statusDetail ?? '')),
      `group ${name} to report the block`,
    );

  it('adds a new source column to Postgres and MariaDB targets', async () => {
    await run('items-pg', 'items', pgSink('items-pg', 'loose', true));
    const mysqlUrl = (await mariadbAvailable()) ? await createMariadbDatabase(`tributary_drift_${process.pid}`) : undefined;
    if (mysqlUrl) {
      await run(
        'items-my',
        'items',
        new DatabaseSink(
          () => MysqlDialect.connect(mysqlUrl),
          schemas,
          { group: 'items-my', autoCreate: true, addColumns: true },
          'mysql',
        ),
      );
    }
    await src(`INSERT INTO items VALUES (1, 'one'), (2, 'two')`);
    await src(`ALTER TABLE items ADD COLUMN colour text, ADD COLUMN weight numeric(8,3)`);
    await src(`INSERT INTO items VALUES (3, 'three', 'red', 1.5)`);
    await src(`UPDATE items SET colour = 'blue' WHERE id = 1`);
    await caughtUp('items-pg');
    const expected = await src('SELECT id, name, colour, weight::text FROM items ORDER BY id');
    expect(await target.query('loose', 'SELECT id, name, colour, weight::text FROM items ORDER BY id')).toEqual(expected);
    if (mysqlUrl) {
      await caughtUp('items-my');
      expect(
        await mariadbQuery(mysqlUrl, 'SELECT id, name, colour, CAST(weight AS CHAR) AS weight FROM items ORDER BY id'),
      ).toEqual(expected);
    }
  });

  it('maps tables: renames the target, keeps only included columns or drops excluded ones', async () => {
    const mapped = (name: string, tables: TableMapping[]) =>
      new DatabaseSink(
        () => PostgresDialect.connect(target.url('loose'), 'public'),
        schemas,
        { group: name, autoCreate: true, addColumns: true, tables },
        'postgres',
      );
    await run(
      'map-rename',
      'items',
      mapped('map-rename', [
        { source: { schema: 'public', table: 'items' }, target: { table: 'catalogue' }, exclude: ['weight'] },
      ]),
    );
    await run(
      'map-include',
      'items',
      mapped('map-include', [
        { source: { schema: 'public', table: 'items' }, target: { table: 'names_only' }, include: ['name'] },
      ]),
    );
    await src(`INSERT INTO items VALUES (50, 'fifty', 'teal', 5.5)`);
    await src(`UPDATE items SET colour = 'navy', weight = 6 WHERE id = 50`);
    await caughtUp('map-rename');
    await caughtUp('map-include');
    const columns = async (table: string) =>
      (
        await target.query<{ c: string }>(
          'loose',
          `SELECT column_name AS c FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
          [table],
        )
      ).map((r) => r.c);
    expect(await columns('catalogue')).toEqual(['id', 'name', 'colour']);
    expect(await columns('names_only')).toEqual(['id', 'name']); // the key always comes along
    expect(await target.query('loose', 'SELECT id, name, colour FROM catalogue ORDER BY id')).toEqual(
      await src('SELECT id, name, colour FROM items ORDER BY id'),
    );
    expect(await target.query('loose', 'SELECT id, name FROM names_only ORDER BY id')).toEqual(
      await src('SELECT id, name FROM items ORDER BY id'),
    );
  });

  it('pauses a sink whose target table is missing with autoCreate off, while another sink goes on', async () => {
    await run('widgets-strict', 'widgets', pgSink('widgets-strict', 'strict', false));
    await run('widgets-loose', 'widgets', pgSink('widgets-loose', 'loose', true));
    await src(`INSERT INTO widgets SELECT g, 'w' || g FROM generate_series(1, 50) g`);
    const block = await blocked('widgets-strict', /target table widgets does not exist and autoCreate is off/);
    expect(block.statusDetail).toMatch(/blocked at offset 0/);
    await caughtUp('widgets-loose');
    await src(`UPDATE widgets SET label = label || '!' WHERE id <= 10`);

    await target.query('strict', 'CREATE TABLE widgets (id int PRIMARY KEY, label text)');
    await caughtUp('widgets-strict');
    const expected = await src('SELECT id, label FROM widgets ORDER BY id');
    expect(await target.query('strict', 'SELECT id, label FROM widgets ORDER BY id')).toEqual(expected);
    expect(await target.query('loose', 'SELECT id, label FROM widgets ORDER BY id')).toEqual(expected);
  });

  it('pauses on a narrowed target column and resumes after the fix with nothing lost', async () => {
    await target.query('strict', 'CREATE TABLE gadgets (id int PRIMARY KEY, label varchar(5))');
    await run('gadgets-strict', 'gadgets', pgSink('gadgets-strict', 'strict', true));
    await src(`INSERT INTO gadgets VALUES (1, 'ok'), (2, 'much too long for five'), (3, 'fine')`);
    const block = await blocked('gadgets-strict', /too long/);
    // The batch is all or nothing: none of the blocked partition's rows is in. (The other partition's
    // rows go on: a blocked partition holds up no other.)
    const pending = await repo.fetch(block.topic, block.partition, BigInt(block.committed), 100);
    const held = pending.map((m) => (JSON.parse(m.envelope) as { after: { id: number } }).after.id);
    expect(held).toContain(2);
    const applied = (await target.query<{ id: number }>('strict', 'SELECT id FROM gadgets')).map((r) => r.id);
    expect(applied.filter((id) => held.includes(id))).toEqual([]);
    await target.query('strict', 'ALTER TABLE gadgets ALTER COLUMN label TYPE text');
    await caughtUp('gadgets-strict');
    expect(await target.query('strict', 'SELECT id, label FROM gadgets ORDER BY id')).toEqual(
      await src('SELECT id, label FROM gadgets ORDER BY id'),
    );
  });

  it('waits for a target that is down, shows it, and loses nothing when it returns', async () => {
    await run('items-outage', 'items', pgSink('items-outage', 'outage', true));
    await caughtUp('items-outage');
    await target.pg.stop('fast');
    await src(`INSERT INTO items SELECT g, 'n' || g, 'green', g FROM generate_series(100, 400) g`);
    await src(`DELETE FROM items WHERE id BETWEEN 100 AND 150`);
    await blocked('items-outage', /connect|ECONNREFUSED|terminat|shut/i);
    await target.pg.start();
    await caughtUp('items-outage');
    expect(await target.query('outage', 'SELECT id, name, colour, weight::text FROM items ORDER BY id')).toEqual(
      await src('SELECT id, name, colour, weight::text FROM items ORDER BY id'),
    );
  });
});
