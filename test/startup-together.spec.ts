import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '@tributary/local-postgres';
import { callApi } from './support/api';
import { TestCluster, waitFor } from './support/pg-cluster';
import { AppProcess, builtApp } from './support/processes';

const ROWS = 300;
const OPS = 3_000;

/**
 * A rollout on a new platform database: an api, two captures and two workers started at the same
 * moment, none of them finding the schema in place. Every one must come up (migrations are applied
 * once, serialised by an advisory lock); then, under kill -9 of the capture leader and of a worker, the
 * target ends equal to the source with no change applied twice (a trigger on the target records every
 * row version the sink writes; each source change carries a unique version from a sequence).
 */
describe('api, two captures and two workers started together on a new platform database', () => {
  let cluster: TestCluster;
  let dir: string;
  let source: Client;
  let apiPort: number;
  const processes: AppProcess[] = [];

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    await cluster.createDatabase('platform');
    await cluster.createDatabase('src');
    await cluster.createDatabase('target');
    await cluster.query('src', 'CREATE SEQUENCE change_version');
    await cluster.query('src', 'CREATE TABLE items (id int PRIMARY KEY, version bigint NOT NULL, n int NOT NULL)');
    for (const ddl of [
      'CREATE TABLE items (id int PRIMARY KEY, version bigint NOT NULL, n int NOT NULL)',
      'CREATE TABLE applied (id int, version bigint)',
      `CREATE FUNCTION record_applied() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN INSERT INTO applied VALUES (NEW.id, NEW.version); RETURN NEW; END $$`,
      'CREATE TRIGGER audit AFTER INSERT OR UPDATE ON items FOR EACH ROW EXECUTE FUNCTION record_applied()',
    ])
      await cluster.query('target', ddl);
    dir = mkdtempSync(join(tmpdir(), 'tributary-together-'));
    writeFileSync(
      join(dir, 'tributary.yaml'),
      [
        'retentionCheckIntervalMs: 3600000',
        'topicDefaults: { partitions: 4 }',
        'sources:',
        '  - name: src',
        `    url: "${cluster.url('src')}"`,
        '    tables: [public.items]',
        '    heartbeatIntervalMs: 500',
        'groups:',
        '  - name: to-pg',
        '    topics: [src.public.items]',
        '    sessionTimeoutMs: 2000',
        '    batchSize: 100',
        `    sink: { type: postgres, url: "${cluster.url('target')}", autoCreate: false }`,
      ].join('\n'),
    );
    source = new Client({ connectionString: cluster.url('src') });
    await source.connect();
    apiPort = await freePort();
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await source?.end();
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    TRIBUTARY_DATABASE_URL: cluster.url('platform'),
    TRIBUTARY_CONFIG: join(dir, 'tributary.yaml'),
    TRIBUTARY_LOG_LEVEL: 'log',
    ...extra,
  });
  const start = (app: 'api' | 'capture' | 'worker', extra?: NodeJS.ProcessEnv): AppProcess => {
    const p = new AppProcess(builtApp(app), env(extra));
    processes.push(p);
    return p;
  };
  const alive = (p: AppProcess) => p.child.exitCode === null && p.child.signalCode === null;
  const base = () => `http://127.0.0.1:${apiPort}`;

  async function workload(): Promise<void> {
    const version = `nextval('change_version')`;
    for (let done = 0; done < OPS;) {
      await source.query('BEGIN');
      for (let i = 0; i < 5; i++, done++) {
        const id = 1 + Math.floor(Math.random() * ROWS);
        const r = Math.random();
        if (r < 0.55)
          await source.query(
            `INSERT INTO items VALUES ($1, ${version}, 0) ON CONFLICT (id) DO UPDATE SET version = ${version}, n = items.n + 1`,
            [id],
          );
        else if (r < 0.85) await source.query(`UPDATE items SET version = ${version}, n = n - 1 WHERE id = $1`, [id]);
        else await source.query('DELETE FROM items WHERE id = $1', [id]);
      }
      await source.query('COMMIT');
    }
  }

  it('all come up, and the target equals the source after kill -9 of the capture leader and of a worker', async () => {
    const api = start('api', { TRIBUTARY_API_PORT: String(apiPort) });
    const captures = [start('capture'), start('capture')];
    const workers = [start('worker'), start('worker')];
    const all = [api, ...captures, ...workers];
    const describeAll = () =>
      all.map((p, i) => `--- process ${i} (exit ${p.child.exitCode})\n${p.output.slice(-3_000)}`).join('\n');

    await waitFor(
      async () => {
        if (!all.every(alive)) throw new Error(`a process exited at start-up:\n${describeAll()}`);
        const ready = await callApi(base(), 'GET', '/ready').catch(() => undefined);
        return (
          ready?.status === 200 &&
          captures.every((c) => c.output.includes('started (roles: capture)')) &&
          workers.every((w) => w.output.includes('started (roles: worker)'))
        );
      },
      'every process to become ready',
      90_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${describeAll()}`);
    });
    const migrations = await cluster.query<{ n: number }>('platform', 'SELECT count(*)::int AS n FROM tributary.migrations');
    expect(migrations[0].n).toBeGreaterThan(0);

    const running = workload();
    // Only the leader streams; the other waits for its lock as a hot standby.
    const victim = await waitFor(() => captures.find((c) => c.output.includes('streaming slot')), 'a capture to lead');
    await victim.kill('SIGKILL');
    await workers[0].kill('SIGKILL');
    await running;

    const [{ lsn }] = await cluster.query<{ lsn: string }>('src', 'SELECT pg_current_wal_lsn()::text AS lsn');
    const sourceRows = async () => cluster.query('src', 'SELECT id, version, n FROM items ORDER BY id');
    await waitFor(
      async () => {
        const [slot] = await cluster.query<{ ok: boolean }>(
          'src',
          `SELECT confirmed_flush_lsn >= $1::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = 'tributary_src'`,
          [lsn],
        );
        if (!slot?.ok) return false;
        const target = await cluster.query('target', 'SELECT id, version, n FROM items ORDER BY id');
        return JSON.stringify(target) === JSON.stringify(await sourceRows());
      },
      'the standby capture to take over and the target to equal the source',
      120_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${describeAll()}`);
    });
    const twice = await cluster.query('target', 'SELECT id, version FROM applied GROUP BY id, version HAVING count(*) > 1');
    expect(twice).toEqual([]);
  }, 300_000);
});
