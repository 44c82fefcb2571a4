import { createServer, type Server, type Socket } from 'node:net';
import { Client } from 'pg';
import { createConnection } from 'mysql2/promise';
import type { GroupConfig } from '@tributary/config';
import { GroupMember, GroupRepository, MessageNotifier } from '@tributary/consumer-groups';
import { DatabaseSink, MysqlDialect, PostgresDialect, type TargetTimeouts } from '@tributary/db-sink';
import { TableSchemaRepository } from '@tributary/schema-registry';
import { TopicLog, TopicRepository } from '@tributary/topic-log';
import { GroupRunner } from '@tributary/worker';
import { createMariadbDatabase, mariadbAvailable, mariadbExpected, mariadbQuery } from '../support/mariadb';
import { TestCluster, waitFor } from '../support/pg-cluster';
import { TestPlatform } from '../support/platform';
import { sinkGroup } from '../support/sink-groups';

/** Short waits, so that a hung target shows within the test; the defaults are in libs/db-sink. */
const SHORT: TargetTimeouts = { connectMs: 1_000, statementMs: 3_000, lockMs: 500, idleInTransactionMs: 5_000 };

describe('targets: a hung target never holds up anything else', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let repo: GroupRepository;
  let notifier: MessageNotifier;
  let schemas: TableSchemaRepository;
  let mysqlUrl: string | undefined;
  const runners: GroupRunner[] = [];
  const sinks: DatabaseSink[] = [];
  const pgTarget = (db: string) => cluster.url(db);

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    platform = await TestPlatform.create(cluster, 'platform');
    for (const db of ['target', 'fresh', 'legacy']) await cluster.createDatabase(db);
    repo = new GroupRepository(platform.pool);
    schemas = new TableSchemaRepository(platform.pool);
    notifier = new MessageNotifier(platform.url);
    await notifier.start();
    if (await mariadbAvailable()) mysqlUrl = await createMariadbDatabase(`tributary_hang_${process.pid}`);
  });

  afterAll(async () => {
    await Promise.all(runners.map((r) => r.stop()));
    await Promise.all(sinks.map((s) => s.close()));
    await notifier?.close();
    await platform?.close();
    await cluster?.stop();
  });

  /** A one-partition topic `src.public.<table>` whose messages are inserts of (id, v) into `table`. */
  async function topicFor(table: string): Promise<string> {
    const topic = `src.public.${table}`;
    await platform.createTopic(topic, 1);
    const c = await platform.pool.connect();
    try {
      await TableSchemaRepository.save(c, {
        source: 'src',
        schema: 'public',
        table,
        topic,
        columns: [
          { name: 'id', type: 'integer', kind: 'number' },
          { name: 'v', type: 'text', kind: 'string' },
        ],
        primaryKey: ['id'],
      });
    } finally {
      c.release();
    }
    return topic;
  }

  async function append(table: string, ids: number[]): Promise<void> {
    const c = await platform.pool.connect();
    try {
      await c.query('BEGIN');
      await TopicLog.append(
        c,
        ids.map((id) => ({
          topic: `src.public.${table}`,
          partition: 0,
          key: `{"id":${id}}`,
          envelope: JSON.stringify({
            op: 'c',
            key: { id },
            before: null,
            after: { id, v: `v${id}` },
            source: { name: 'src', schema: 'public', table },
          }),
          sourceLsn: null,
          txId: null,
          commitTimeMs: null,
        })),
      );
      await c.query('COMMIT');
    } finally {
      c.release();
    }
  }

  function pgSink(group: string, db: string, timeouts: TargetTimeouts = SHORT): DatabaseSink {
    const connect = (signal?: AbortSignal) => PostgresDialect.connect(pgTarget(db), 'public', timeouts, signal);
    return new DatabaseSink(connect, schemas, { group, autoCreate: true, addColumns: true }, 'postgres');
  }

  function mysqlSink(group: string, url: string, timeouts: TargetTimeouts = SHORT): DatabaseSink {
    const connect = (signal?: AbortSignal) => MysqlDialect.connect(url, timeouts, signal);
    return new DatabaseSink(connect, schemas, { group, autoCreate: true, addColumns: true }, 'mysql');
  }

  async function run(name: string, topic: string, sink: DatabaseSink): Promise<GroupRunner> {
    const config: GroupConfig = sinkGroup(name, [topic], {
      retry: { maxAttempts: 2, initialBackoffMs: 20, maxBackoffMs: 300 },
    });
    await repo.upsertGroup(config);
    const runner = new GroupRunner(new GroupMember(repo, config, 'test'), config, repo, sink, notifier);
    runners.push(runner);
    sinks.push(sink);
    runner.start();
    return runner;
  }

  /** Stops a runner and closes its sink; resolves once both are done, which a hung target must not prevent. */
  async function stopped(runner: GroupRunner, sink: DatabaseSink): Promise<true> {
    const done = runner.stop().then(() => sink.close());
    return waitFor(() => done.then(() => true as const), 'the runner on a hung target to stop', 30_000);
  }

  const lagOf = async (group: string) => (await repo.lag(group))[0];

  /** What a target holds of a table, and the session that locks it; per kind of target. */
  interface Target {
    kind: string;
    sink(group: string): DatabaseSink;
    rows(table: string): Promise<number[]>;
    create(table: string): Promise<void>;
    lock(table: string): Promise<() => Promise<void>>;
  }

  const targets: Target[] = [
    {
      kind: 'postgres',
      sink: (group) => pgSink(group, 'target'),
      rows: async (table) =>
        (await cluster.query<{ id: number }>('target', `SELECT id FROM ${table} ORDER BY id`)).map((r) => r.id),
      create: async (table) => void (await cluster.query('target', `CREATE TABLE ${table} (id int PRIMARY KEY, v text)`)),
      lock: async (table) => {
        const hold = new Client({ connectionString: pgTarget('target') });
        await hold.connect();
        await hold.query('BEGIN');
        await hold.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
        return async () => {
          await hold.query('ROLLBACK');
          await hold.end();
        };
      },
    },
    {
      kind: 'mariadb',
      sink: (group) => mysqlSink(group, mysqlUrl as string),
      rows: async (table) =>
        (await mariadbQuery<{ id: number }>(mysqlUrl as string, `SELECT id FROM ${table} ORDER BY id`)).map((r) => r.id),
      create: async (table) =>
        void (await mariadbQuery(mysqlUrl as string, `CREATE TABLE ${table} (id int PRIMARY KEY, v longtext)`)),
      lock: async (table) => {
        const hold = await createConnection({ uri: mysqlUrl });
        await hold.query(`LOCK TABLES ${table} WRITE`);
        return async () => {
          await hold.query('UNLOCK TABLES');
          await hold.end();
        };
      },
    },
  ];

  const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  for (const target of targets) {
    const test = target.kind === 'mariadb' && !mariadbExpected() ? it.skip : it;
    test(`${target.kind}: a locked target table times out, blocks only its group, stops at once, then catches up exactly once`, async () => {
      const [a, b] = [`locked_${target.kind}`, `free_${target.kind}`];
      for (const table of [a, b]) await target.create(table);
      const [topicA, topicB] = [await topicFor(a), await topicFor(b)];
      const sinkA = target.sink(`${a}-group`);
      const runnerA = await run(`${a}-group`, topicA, sinkA);
      await run(`${b}-group`, topicB, target.sink(`${b}-group`));
      await append(a, [1]);
      await append(b, [1]);
      await waitFor(async () => (await target.rows(a)).length === 1 && (await target.rows(b)).length === 1, 'first rows');

      const release = await target.lock(a);
      try {
        await append(a, ids(2, 20));
        await append(b, ids(2, 20));
        // The other group of the same process goes on.
        await waitFor(async () => (await target.rows(b)).length === 20, `group B to deliver past the lock on ${a}`);
        // The locked one reports the lock timeout instead of waiting for ever.
        const blocked = await waitFor(async () => {
          const lag = await lagOf(`${a}-group`);
          return lag?.status === 'blocked' && lag;
        }, 'group A to block on the lock timeout');
        expect(blocked.statusDetail).toMatch(/lock/i);
        // And stopping it does not wait for the lock.
        await stopped(runnerA, sinkA);
        expect(await repo.members(`${a}-group`)).toEqual([]);
      } finally {
        await release();
      }

      await run(`${a}-group`, topicA, target.sink(`${a}-group`));
      await waitFor(async () => (await lagOf(`${a}-group`))?.lag === '0', 'group A to catch up after the lock');
      expect(await target.rows(a)).toEqual(ids(1, 20)); // each row once (primary key) and none missing
      expect(await target.rows(b)).toEqual(ids(1, 20));
    }, 180_000);
  }

  it('postgres: a statement that runs past statementMs is ended by the target, blocks only its group, then catches up', async () => {
    const table = 'slow_postgres';
    const group = `${table}-group`;
    await cluster.query('target', `CREATE TABLE ${table} (id int PRIMARY KEY, v text)`);
    // Not a lock: the statement itself takes ten minutes, for rows after the first.
    await cluster.query(
      'target',
      `CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(600); RETURN NEW; END $$`,
    );
    await cluster.query(
      'target',
      `CREATE TRIGGER slow BEFORE INSERT ON ${table} FOR EACH ROW WHEN (NEW.id > 1) EXECUTE FUNCTION slow_insert()`,
    );
    const topic = await topicFor(table);
    const sink = pgSink(group, 'target');
    const runner = await run(group, topic, sink);
    const rows = async () =>
      (await cluster.query<{ id: number }>('target', `SELECT id FROM ${table} ORDER BY id`)).map((r) => r.id);
    await append(table, [1]);
    await waitFor(async () => (await rows()).length === 1, 'the first row');
    await append(table, ids(2, 5));
    const blocked = await waitFor(async () => {
      const lag = await lagOf(group);
      return lag?.status === 'blocked' && lag;
    }, 'the group to block on the statement timeout');
    expect(blocked.statusDetail).toMatch(/statement timeout/);
    await stopped(runner, sink);
    // The target ended the statement: no backend of it still sleeps in the trigger.
    const sleeping = await cluster.query(
      'target',
      `SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'INSERT%${table}%'`,
    );
    expect(sleeping).toEqual([]);

    await cluster.query('target', `DROP TRIGGER slow ON ${table}`);
    await run(group, topic, pgSink(group, 'target'));
    await waitFor(async () => (await lagOf(group))?.lag === '0', 'the group to catch up without the trigger');
    expect(await rows()).toEqual(ids(1, 5));
  }, 120_000);

  describe('a server that accepts connections and never answers', () => {
    let server: Server;
    let port: number;
    const sockets: Socket[] = [];

    beforeAll(async () => {
      server = createServer((socket) => sockets.push(socket)); // never writes, never closes
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });

    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    });

    const settled = (attempt: Promise<unknown>) =>
      waitFor(
        () =>
          attempt.then(
            () => 'connected',
            (e: Error) => e.message,
          ),
        'the connect attempt to end',
        30_000,
      );

    it('times out connecting (postgres and mysql)', async () => {
      expect(await settled(PostgresDialect.connect(`postgres://u@127.0.0.1:${port}/db`, 'public', SHORT))).toMatch(/timeout/i);
      expect(await settled(MysqlDialect.connect(`mysql://u@127.0.0.1:${port}/db`, SHORT))).toMatch(/ETIMEDOUT|timeout/i);
    }, 60_000);

    it('does not hold up the stop of its group, even with a connect timeout far away', async () => {
      const topic = await topicFor('silent');
      await append('silent', [1]);
      const patient = { ...SHORT, connectMs: 600_000 };
      const sink = new DatabaseSink(
        (signal) => PostgresDialect.connect(`postgres://u@127.0.0.1:${port}/db`, 'public', patient, signal),
        schemas,
        { group: 'silent-group', autoCreate: true, addColumns: true },
        'postgres',
      );
      const before = sockets.length;
      const runner = await run('silent-group', topic, sink);
      await waitFor(() => sockets.length > before, 'the sink to connect to the silent server');
      await stopped(runner, sink);
      expect(await repo.members('silent-group')).toEqual([]);
      expect((await lagOf('silent-group')).committed).toBe('0');
    }, 60_000);
  });

  describe('topic incarnations', () => {
    it('a topic deleted and re-created starts from its beginning in the target, with a group event', async () => {
      const topic = await topicFor('reborn');
      await run('reborn-group', topic, pgSink('reborn-group', 'fresh'));
      await append('reborn', [1, 2, 3]);
      await waitFor(async () => (await lagOf('reborn-group'))?.committed === '3', 'the first topic to be applied');

      await new TopicRepository(platform.pool).delete(topic);
      await topicFor('reborn');
      await append('reborn', [11, 12]); // offsets 0 and 1 of the new topic, below the stored 3

      const rows = async () =>
        (await cluster.query<{ id: number }>('fresh', 'SELECT id FROM reborn ORDER BY id')).map((r) => r.id);
      await waitFor(async () => (await rows()).includes(12), "the new topic's first messages to be applied");
      expect(await rows()).toEqual([1, 2, 3, 11, 12]);
      const events = await waitFor(async () => {
        const list = await repo.events('reborn-group');
        return list.some((e) => e.kind === 'topic_recreated') && list;
      }, 'a topic_recreated event');
      expect(events.find((e) => e.kind === 'topic_recreated')?.detail).toMatch(/re-created/);
      const [stored] = await cluster.query<{ next_offset: string; topic_incarnation: string | null }>(
        'fresh',
        `SELECT next_offset::text, topic_incarnation FROM tributary_offsets WHERE group_name = 'reborn-group'`,
      );
      const [{ created }] = await platform.pool
        .query<{ created: string }>(
          `SELECT (extract(epoch FROM created_at) * 1000000)::bigint::text AS created FROM tributary.topics WHERE name = $1`,
          [topic],
        )
        .then((r) => r.rows);
      expect(stored).toEqual({ next_offset: '2', topic_incarnation: created });
    }, 120_000);

    it('an offsets table from before incarnations gains the column, and its rows count for the current topic', async () => {
      await cluster.query(
        'legacy',
        `CREATE TABLE tributary_offsets (
           group_name text NOT NULL, topic text NOT NULL, partition int NOT NULL, next_offset bigint NOT NULL,
           updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (group_name, topic, partition))`,
      );
      const topic = await topicFor('kept');
      await cluster.query('legacy', `INSERT INTO tributary_offsets VALUES ('kept-group', $1, 0, 2)`, [topic]);
      await append('kept', [1, 2, 3]);
      await run('kept-group', topic, pgSink('kept-group', 'legacy'));
      await waitFor(async () => (await lagOf('kept-group'))?.committed === '3', 'the legacy group to catch up');
      const rows = await cluster.query<{ id: number }>('legacy', 'SELECT id FROM kept ORDER BY id');
      expect(rows.map((r) => r.id)).toEqual([3]); // offsets 0 and 1 were applied before, by the stored row's word
      const [stored] = await cluster.query<{ next_offset: string; stamped: boolean }>(
        'legacy',
        `SELECT next_offset::text, topic_incarnation IS NOT NULL AS stamped FROM tributary_offsets`,
      );
      expect(stored).toEqual({ next_offset: '3', stamped: true });
    }, 120_000);
  });
});
