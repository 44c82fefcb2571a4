import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '@tributary/local-postgres';
import { filterReferences } from '@tributary/snapshot';
import { CaptureHarness, platformConfig, sourceConfig } from '../support/capture-harness';
import { callApi, TestApi } from '../support/api';
import { TestCluster, waitFor } from '../support/pg-cluster';
import { TestPlatform } from '../support/platform';
import { AppProcess, builtApp } from '../support/processes';
import { backfillsSettled } from '../support/snapshot';

/**
 * A backfill's `where` is an expression over the table's own row: no sub-query, no other table, only
 * IMMUTABLE functions and operators, decided by the source's own parser and catalog. Chunk reads run
 * under a statement_timeout, and cancelling a backfill cancels the statement it is running.
 */
describe("filters: a backfill filter is an expression over the table's own columns", () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let harness: CaptureHarness;
  let api: TestApi;
  const sql = (text: string, params: unknown[] = []) => cluster.query('src', text, params);
  const post = (body: unknown, source = 'src') => api.call('POST', `/api/v1/sources/${source}/backfills`, body);
  const stored = async () => Number((await platform.pool.query('SELECT count(*) AS n FROM tributary.backfills')).rows[0].n);
  /** The snapshot connection's backend on the source, while it waits for a lock or runs a statement. */
  const snapshotBackend = async (app: string) =>
    (
      await sql(
        `SELECT pid, state, wait_event_type AS wait, query FROM pg_stat_activity
          WHERE application_name = $1 AND state = 'active'`,
        [app],
      )
    )[0] as { pid: number; wait: string | null; query: string } | undefined;

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    await cluster.createDatabase('src');
    platform = await TestPlatform.create(cluster, 'platform');
    await sql(`CREATE TABLE people (id int PRIMARY KEY, status text, name text, created_at timestamptz, born date)`);
    await sql(`INSERT INTO people SELECT g, CASE WHEN g % 3 = 0 THEN 'x' ELSE 'y' END, CASE WHEN g % 2 = 0 THEN 'Anna ' || g ELSE 'Bob ' || g END,
                 timestamptz '2023-12-01 00:00:00+00' + g * interval '1 day', date '1990-01-01' + g FROM generate_series(1, 200) g`);
    await sql(`CREATE TABLE other (id int PRIMARY KEY)`);
    // As in the embedded default, where the platform's own tables are in the source database.
    await sql(`CREATE SCHEMA tributary; CREATE TABLE tributary.sources (name text PRIMARY KEY)`);
    await sql(`CREATE TABLE locked (id int PRIMARY KEY, v int)`);
    const tables = ['public.people', 'public.locked'];
    const sources = [
      sourceConfig('src', cluster.url('src'), tables, { snapshot: 'never' }),
      sourceConfig('strict', cluster.url('src'), tables, { snapshot: 'never', snapshotStatementTimeoutMs: 1_000 }),
    ];
    const config = platformConfig(platform.url, sources);
    harness = await CaptureHarness.start(config);
    api = await TestApi.start(platform, () => ({ ...config, logLevel: 'error' }));
    // Both captures have published their tables (a backfill needs its table in the publication).
    await waitFor(async () => (await post({ table: 'public.people', where: 'false' }, 'strict')).status === 202, 'publication');
    await waitFor(async () => (await post({ table: 'public.people', where: 'false' })).status === 202, 'publication');
    await backfillsSettled(platform.pool);
    await sql(`INSERT INTO locked SELECT g, g FROM generate_series(1, 2000) g`);
  });

  afterAll(async () => {
    await api?.close();
    await harness?.stop();
    await platform?.pool.end();
    await cluster?.stop();
  });

  it.each([
    ['pg_sleep(600) IS NULL', /pg_sleep\(double precision\) is VOLATILE/],
    ['pg_terminate_backend(pg_backend_pid()) IS NOT NULL', /pg_terminate_backend\(integer,bigint\) is VOLATILE/],
    ["length(pg_read_file('/etc/passwd')) > 0", /pg_read_file\(text\) is VOLATILE/],
    ['(SELECT count(*) FROM tributary.sources) >= 0', /sub-query/],
    ['EXISTS (SELECT 1 FROM other WHERE other.id = people.id)', /sub-query/],
    ['id IN (SELECT 1)', /sub-query/],
    ["created_at > now() - interval '1 day'", /now\(\) is STABLE/],
    ["current_setting('server_version') <> ''", /current_setting\(text\) is STABLE/],
    ['name = current_user', /session value/],
    ["born::text LIKE '1990%'", /cast through text/],
  ])('refuses %s with 422 naming the field, and stores nothing', async (where, why) => {
    const before = await stored();
    const res = await post({ table: 'public.people', where });
    expect({ status: res.status, field: res.body.field }).toEqual({ status: 422, field: 'where' });
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.detail).toMatch(why);
    expect(await stored()).toBe(before);
  });

  it.each([
    ["id > 10 AND status = 'x'", 'SELECT count(*)::int AS n FROM people WHERE id > 10 AND status = $$x$$'],
    ["lower(name) LIKE 'a%'", 'SELECT count(*)::int AS n FROM people WHERE lower(name) LIKE $$a%$$'],
    [
      "created_at >= '2024-01-01' AND born < date '1990-03-01' AND created_at < timestamptz '2024-12-31 00:00+00'",
      `SELECT count(*)::int AS n FROM people WHERE created_at >= '2024-01-01' AND born < date '1990-03-01'`,
    ],
    ["id IN (1, 2, 3) OR (id, status) > (190, 'x') OR coalesce(status, 'none') = 'none'", null],
  ])('runs the legitimate filter %s', async (where, count) => {
    const res = await post({ table: 'public.people', where, chunkSize: 7 });
    expect(res.status).toBe(202);
    const [done] = await backfillsSettled(platform.pool, [res.body.id as number]);
    expect(done.status).toBe('done');
    if (count) expect(Number(done.rows_done)).toBe(((await sql(count))[0] as { n: number }).n);
    else expect(Number(done.rows_done)).toBeGreaterThan(3);
  });

  it('reads the functions, operators and relations out of a parse tree; names in it can only add references', () => {
    const tree =
      '({QUERY :rtable ({RANGETBLENTRY :eref {ALIAS :aliasname t :colnames ("a\\{SUBLINK" ":funcid 1")} :relid 16384}) ' +
      ':quals {BOOLEXPR :args ({OPEXPR :opno 521 :opfuncid 147 :args ({FUNCEXPR :funcid 870 :args ({VAR :varno 1})})} ' +
      '{ROWCOMPAREEXPR :opnos (o 97 664)})}})';
    const refs = filterReferences(tree);
    expect([...refs.nodes.keys()].sort()).toEqual([
      'ALIAS',
      'BOOLEXPR',
      'FUNCEXPR',
      'OPEXPR',
      'QUERY',
      'RANGETBLENTRY',
      'ROWCOMPAREEXPR',
      'VAR',
    ]);
    expect(refs.functions.sort((a, b) => a - b)).toEqual([1, 147, 870]); // 1: from a column name, refused
    expect(refs.operators).toEqual([521, 97, 664]);
    expect(refs.relations).toEqual([16384]);
  });

  it('cancels the statement a cancelled backfill is running: the source backend stops waiting', async () => {
    const res = await post({ table: 'public.locked', chunkSize: 1 });
    expect(res.status).toBe(202);
    const id = res.body.id as number;
    await waitFor(async () => (await api.call('GET', `/api/v1/sources/src/backfills/${id}`)).body.rowsDone > 2, 'some progress');
    const locker = new Client({ connectionString: cluster.url('src') });
    await locker.connect();
    try {
      await locker.query('BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE');
      const waiting = await waitFor(async () => {
        const b = await snapshotBackend('tributary-snapshot:src');
        return b?.wait === 'Lock' && b;
      }, 'the chunk read to wait for the lock');
      expect(waiting.query).toMatch(/^COPY/);
      const cancelled = await api.call('DELETE', `/api/v1/sources/src/backfills/${id}`);
      expect(cancelled.status).toBe(200);
      await waitFor(
        async () => {
          const b = await snapshotBackend('tributary-snapshot:src');
          return (!b || b.pid !== waiting.pid || b.wait !== 'Lock') && true;
        },
        'the chunk read to be cancelled while the lock is still held',
        20_000,
      );
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    expect((await api.call('GET', `/api/v1/sources/src/backfills/${id}`)).body.status).toBe('cancelled');
  });

  it("fails a backfill whose chunk read runs past the source's snapshotStatementTimeoutMs", async () => {
    const res = await post({ table: 'public.locked', chunkSize: 1 }, 'strict');
    expect(res.status).toBe(202);
    const id = res.body.id as number;
    await waitFor(async () => (await api.call('GET', `/api/v1/sources/strict/backfills/${id}`)).body.rowsDone > 2, 'progress');
    const locker = new Client({ connectionString: cluster.url('src') });
    await locker.connect();
    try {
      await locker.query('BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE');
      const [failed] = await backfillsSettled(platform.pool, [id], 60_000);
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatch(/statement timeout.*snapshotStatementTimeoutMs/);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
  });

  /**
   * The all-in-one app on its embedded Postgres (which is also its source), with a backfill whose chunk
   * read waits for a lock: SIGTERM, and Ctrl-C (SIGINT to the whole process group, the embedded Postgres
   * included), stop it with exit code 0 and no error: the work stops and its statements are cancelled
   * before the platform database closes, and the embedded Postgres stops last.
   */
  describe('shutdown with a backfill stuck on a lock', () => {
    let dir: string;
    let env: NodeJS.ProcessEnv;
    let app: AppProcess | undefined;
    let base: string;
    let pgUrl: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tributary-shutdown-'));
      chmodSync(dir, 0o755);
      const apiPort = await freePort();
      const pgPort = await freePort();
      base = `http://127.0.0.1:${apiPort}`;
      pgUrl = `postgres://postgres@127.0.0.1:${pgPort}/tributary`;
      env = {
        TRIBUTARY_DATA_DIR: join(dir, 'data'),
        TRIBUTARY_EMBEDDED_PORT: String(pgPort),
        TRIBUTARY_API_PORT: String(apiPort),
      };
    });

    afterAll(async () => {
      await app?.kill('SIGKILL');
      // A server left behind by a failed run.
      const pidFile = join(env.TRIBUTARY_DATA_DIR as string, 'pg', 'postmaster.pid');
      if (existsSync(pidFile)) {
        try {
          process.kill(Number(readFileSync(pidFile, 'utf8').split('\n')[0]), 'SIGQUIT');
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    });

    const call = (method: string, path: string, body?: unknown) => callApi(base, method, path, body);

    /** Starts the app and returns a session holding an ACCESS EXCLUSIVE lock the backfill's chunk read waits for. */
    async function startStuck(): Promise<Client> {
      const next = new AppProcess(builtApp('tributary'), env, [], { ownGroup: true });
      app = next;
      await waitFor(async () => (await fetch(`${base}/ready`).catch(() => undefined))?.status === 200, 'the app', 90_000).catch(
        (error: Error) => {
          throw new Error(`${error.message}\n--- app output ---\n${next.output}`);
        },
      );
      const source = new Client({ connectionString: pgUrl });
      source.on('error', () => undefined); // the server stops with the app
      await source.connect();
      await source.query('CREATE TABLE IF NOT EXISTS stuck (id int PRIMARY KEY, v int)');
      await source.query('INSERT INTO stuck SELECT g, g FROM generate_series(1, 50000) g ON CONFLICT DO NOTHING');
      // 409 after a restart: the backfill of the first run is still running.
      await waitFor(async () => {
        const res = await call('POST', '/api/v1/sources/default/backfills', { table: 'public.stuck', chunkSize: 1 });
        return res.status === 202 || res.status === 409;
      }, 'a backfill of public.stuck');
      const [{ id }] = (await call('GET', '/api/v1/sources/default/backfills')).body as { id: number }[];
      await waitFor(async () => (await call('GET', `/api/v1/sources/default/backfills/${id}`)).body.rowsDone > 2, 'progress');
      await source.query('BEGIN; LOCK TABLE stuck IN ACCESS EXCLUSIVE MODE');
      await waitFor(async () => {
        const { rows } = await source.query(
          `SELECT 1 FROM pg_stat_activity WHERE application_name = 'tributary-snapshot:default' AND wait_event_type = 'Lock'`,
        );
        return rows.length > 0;
      }, 'the chunk read to wait for the lock');
      return source;
    }

    async function expectCleanExit(stop: () => void): Promise<void> {
      const running = app as AppProcess;
      stop();
      const code = await waitFor(
        () => running.child.exitCode !== null || running.child.signalCode !== null,
        'the app to exit',
        30_000,
      )
        .then(() => running.child.exitCode)
        .catch((error: Error) => {
          throw new Error(`${error.message}\n--- app output ---\n${running.output}`);
        });
      expect({ code, signal: running.child.signalCode }).toEqual({ code: 0, signal: null });
      expect(running.output).not.toMatch(/Unhandled|'error' event|Error happened during shutdown/);
      // Nothing found its database gone: the embedded Postgres stopped after the work, not with the signal.
      expect(running.output).not.toMatch(/connection lost|final commit at stop failed|terminating connection/);
    }

    it('exits with 0 on SIGTERM, and on Ctrl-C (SIGINT to the process group)', async () => {
      const first = await startStuck();
      await expectCleanExit(() => (app as AppProcess).child.kill('SIGTERM'));
      await first.end().catch(() => undefined);
      const second = await startStuck();
      await expectCleanExit(() => (app as AppProcess).interrupt());
      await second.end().catch(() => undefined);
    });
  });
});
