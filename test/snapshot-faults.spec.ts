import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { Envelope } from './support/capture-harness';
import { TestCluster, waitFor } from './support/pg-cluster';
import { AppProcess } from './support/processes';
import { copyBuiltCaptureApp } from './support/processes';
import { backfillRows, captureCaughtUp, foldTopic, TableChurn } from './support/snapshot';
import { loggedMessages } from './support/logged-messages';
import { sleep } from '@tributary/timing';

const ROWS = 60_000;
const CHUNK = 1_000;

/**
 * The built capture app as a real process, killed with SIGKILL in the middle of an initial snapshot
 * while writes hit the table, three times. Each restart resumes after the last chunk whose progress was
 * committed (no key is read twice), and the topic, applied in order, equals the source table.
 */
describe('snapshots: kill -9 mid-snapshot', () => {
  let cluster: TestCluster;
  let dir: string;
  let captureApp: string;
  let platformUrl: string;
  let platform: Client;
  const processes: AppProcess[] = [];
  let churn: TableChurn | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-snapshot-faults-'));
    captureApp = await copyBuiltCaptureApp(join(dir, 'app'));
    cluster = await TestCluster.start(18);
    await cluster.createDatabase('src');
    platformUrl = await cluster.createDatabase('platform');
    await cluster.query(
      'src',
      'CREATE TABLE big (id int PRIMARY KEY, grp int NOT NULL, v bigint NOT NULL, note text, ver int NOT NULL)',
    );
    await cluster.query('src', `INSERT INTO big SELECT g, g % 100, g, md5(g::text), 0 FROM generate_series(1, ${ROWS}) g`);
    writeFileSync(
      join(dir, 'tributary.yaml'),
      [
        'topicDefaults: { partitions: 3 }',
        'retentionCheckIntervalMs: 3600000',
        'sources:',
        '  - name: src',
        `    url: "${cluster.url('src')}"`,
        '    tables: [public.big]',
        '    heartbeatIntervalMs: 500',
        `    snapshotChunkSize: ${CHUNK}`,
        // Slow enough to be killed in the middle, several times.
        '    snapshotChunkDelayMs: 40',
      ].join('\n'),
    );
  }, 300_000);

  afterAll(async () => {
    await churn?.stop();
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await platform?.end().catch(() => undefined);
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  function start(): AppProcess {
    const p = new AppProcess(captureApp, {
      TRIBUTARY_DATABASE_URL: platformUrl,
      TRIBUTARY_CONFIG: join(dir, 'tributary.yaml'),
      TRIBUTARY_LOG_LEVEL: 'log',
    });
    processes.push(p);
    return p;
  }

  const backfill = async () => (await backfillRows(platform)).find((b) => b.table_name === 'big');
  /** Sessions on the platform database but this test's own (the capture process is the only other client). */
  const platformSessions = async () =>
    (
      await platform.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
      )
    ).rows[0].n;

  it('resumes from the last finished chunk and ends exact', async () => {
    platform = new Client({ connectionString: platformUrl });
    await platform.connect();
    let capture = start();
    await waitFor(async () => (await backfill())?.status === 'running', 'the initial snapshot to start', 120_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${capture.output.slice(-3000)}`);
    });
    const position = async () => {
      const b = await backfill();
      return b?.status === 'running' ? Number(b.last_key?.[0] ?? 0) : null;
    };
    churn = new TableChurn(cluster.url('src'), 'big', ROWS, 2, 2, position, 2 * CHUNK);
    churn.start();

    const resumedFrom: number[] = [];
    for (const killAt of [8, 22, 38]) {
      await waitFor(async () => ((await backfill())?.chunks_done ?? 0) >= killAt, `chunk ${killAt}`, 300_000);
      await capture.kill('SIGKILL');
      // A chunk's commit sent just before the kill still lands once its backend reads it: read the
      // progress the next run resumes from only when no session of the killed process is left.
      await waitFor(async () => (await platformSessions()) === 0, "the killed capture's platform sessions to end");
      const at = (await backfill()) as { chunks_done: number; status: string };
      expect(at.status).toBe('running');
      resumedFrom.push(at.chunks_done);
      capture = start();
      await waitFor(() => capture.output.includes(`resuming after chunk ${at.chunks_done} `), 'the resume', 120_000).catch(
        (e) => {
          throw new Error(`${(e as Error).message}\n${capture.output.slice(-3000)}`);
        },
      );
    }
    await waitFor(async () => (await backfill())?.status === 'done', 'the snapshot to finish', 300_000);
    await sleep(500);
    await churn.stop();
    await captureCaughtUp(cluster, 'src', 'tributary_src');

    const messages = (await loggedMessages(platform, 'src.public.big')).map((m) => ({
      key: m.key as string,
      envelope: JSON.parse(m.envelope) as Envelope,
    }));
    // Resumed, not restarted: every key was read by the snapshot at most once.
    const reads = messages.filter((m) => m.envelope.op === 'r').map((m) => m.key);
    expect(new Set(reads).size).toBe(reads.length);
    const done = (await backfill()) as { rows_done: string; rows_emitted: string };
    expect(Number(done.rows_emitted)).toBe(reads.length);

    const state = foldTopic(messages);
    const source = await cluster.query<{ id: number; grp: number; v: string; note: string; ver: number }>(
      'src',
      'SELECT id, grp, v::text AS v, note, ver FROM big ORDER BY id',
    );
    const folded = [...state.entries()]
      .map(([, row]) => row as { id: number; grp: number; v: string; note: string; ver: number })
      .sort((a, b) => a.id - b.id);
    expect(folded.length).toBe(source.length);
    expect(folded).toEqual(source);
    process.stderr.write(
      `snapshot kill test: killed after chunks ${resumedFrom.join(', ')}; ${done.rows_done} rows read, ${reads.length} emitted; ` +
        `${churn.transactions} concurrent transactions\n`,
    );
  }, 900_000);
});
