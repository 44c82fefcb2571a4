import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { PgVersion } from './support/pg-cluster';
import { TestCluster, testedVersions, waitFor } from './support/pg-cluster';
import { AppProcess, copyBuiltCaptureApp } from './support/processes';
import { loggedMessages } from './support/logged-messages';
import { sleep } from '@tributary/timing';

/**
 * Capture under faults, with the built `capture` app as a real process against real clusters:
 * kill -9 mid-stream, platform database restarts, a hot standby taking over, and heartbeats.
 *
 * The workload keeps its own model of every committed change: each row has a `ver` column set from a
 * per-key counter by every insert and update, so a change is named by (table, key, op, ver). After the
 * slot has confirmed a WAL position taken after the workload, the topic log must hold each
 * committed change exactly once, each key's changes in commit order, and gap-free offsets.
 */

const CAPTURED = ['t_int', 't_comp', 't_full'] as const;
type Captured = (typeof CAPTURED)[number];

const DDL = [
  'CREATE TABLE t_int (id int PRIMARY KEY, ver int NOT NULL, note text)',
  'CREATE TABLE t_comp (region text, num int, ver int NOT NULL, note text, PRIMARY KEY (region, num))',
  'CREATE TABLE t_full (id bigint PRIMARY KEY, ver int NOT NULL, note text)',
  // Deletes carry the whole old row, so they can be named by version too.
  'ALTER TABLE t_full REPLICA IDENTITY FULL',
  'CREATE TABLE t_noise (id bigserial PRIMARY KEY, note text)',
];

const between = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

interface KeyState {
  table: Captured;
  /** The message key as capture writes it (JSON of the key columns). */
  key: string;
  where: string;
  insertColumns: string;
  insertValues: string;
  ver: number;
  live: boolean;
}

/**
 * A mixed workload on its own connections: inserts, updates, deletes (and re-inserts of deleted keys)
 * in transactions of 1 to 2,000 changes across the captured tables. Each connection owns its keys, so
 * a key's commit order is its connection's order. Changes enter `expected` only once COMMIT returned.
 */
class Workload {
  /** `${table}|${key}` -> tokens (`c3`, `u4`, `d`, `d4`) in commit order. */
  readonly expected = new Map<string, string[]>();
  committedOps = 0;
  transactions = 0;
  multiTable = 0;
  largest = 0;
  private readonly clients: Client[] = [];
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly total: number,
    private readonly connections = 2,
    /** Checked before each transaction: lets a fault injector hold the workload at a chosen point. */
    private readonly holdWhile: (done: number) => boolean = () => false,
  ) {}

  /** Ends the workload early (a failed test must not leave it running). */
  stop(): void {
    this.stopped = true;
  }

  get expectedCount(): number {
    let n = 0;
    for (const tokens of this.expected.values()) n += tokens.length;
    return n;
  }

  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.connections }, (_, w) => this.runConnection(w)));
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.end().catch(() => undefined)));
  }

  private async runConnection(w: number): Promise<void> {
    const client = new Client({ connectionString: this.url });
    client.on('error', () => undefined); // surfaces through the failing query
    this.clients.push(client);
    await client.connect();
    const live: KeyState[] = [];
    const dead: KeyState[] = [];
    let created = 0;
    const share = Math.ceil(this.total / this.connections);
    let done = 0;

    const newKey = (table: Captured): KeyState => {
      const n = created++;
      if (table === 't_int') {
        const id = w * 1_000_000 + n;
        return {
          table,
          key: `{"id":${id}}`,
          where: `id = ${id}`,
          insertColumns: 'id',
          insertValues: `${id}`,
          ver: -1,
          live: false,
        };
      }
      if (table === 't_comp') {
        const region = `w${w}r${n % 7}`;
        return {
          table,
          key: `{"region":"${region}","num":${n}}`,
          where: `region = '${region}' AND num = ${n}`,
          insertColumns: 'region, num',
          insertValues: `'${region}', ${n}`,
          ver: -1,
          live: false,
        };
      }
      const id = 5_000_000_000 + w * 1_000_000 + n; // beyond int4: int8 keys are rendered as strings
      return {
        table,
        key: `{"id":"${id}"}`,
        where: `id = ${id}`,
        insertColumns: 'id',
        insertValues: `${id}`,
        ver: -1,
        live: false,
      };
    };
    const pick = (list: KeyState[]): KeyState => {
      const i = Math.floor(Math.random() * list.length);
      const k = list[i];
      list[i] = list[list.length - 1];
      list.pop();
      return k;
    };
    const note = (ver: number) => `'${'x'.repeat(ver % 40)}${ver}'`;

    try {
      while (done < share && !this.stopped) {
        while (!this.stopped && this.holdWhile(this.committedOps)) await sleep(20);
        if (this.stopped) break;
        const r = Math.random();
        const size = Math.min(
          share - done,
          r < 0.6 ? between(1, 4) : r < 0.9 ? between(5, 40) : r < 0.985 ? between(41, 300) : between(500, 2000),
        );
        const statements: string[] = [];
        const events: [string, string][] = [];
        const tables = new Set<Captured>();
        for (let i = 0; i < size; i++) {
          const roll = Math.random();
          let k: KeyState;
          if (live.length < 30 || roll < 0.4) {
            k = dead.length && Math.random() < 0.15 ? pick(dead) : newKey(CAPTURED[between(0, 2)]);
            k.ver++;
            k.live = true;
            live.push(k);
            statements.push(
              `INSERT INTO ${k.table} (${k.insertColumns}, ver, note) VALUES (${k.insertValues}, ${k.ver}, ${note(k.ver)})`,
            );
            events.push([`${k.table}|${k.key}`, `c${k.ver}`]);
          } else if (roll < 0.8) {
            k = live[Math.floor(Math.random() * live.length)];
            k.ver++;
            statements.push(`UPDATE ${k.table} SET ver = ${k.ver}, note = ${note(k.ver)} WHERE ${k.where}`);
            events.push([`${k.table}|${k.key}`, `u${k.ver}`]);
          } else {
            k = pick(live);
            k.live = false;
            dead.push(k);
            statements.push(`DELETE FROM ${k.table} WHERE ${k.where}`);
            events.push([`${k.table}|${k.key}`, k.table === 't_full' ? `d${k.ver}` : 'd']);
          }
          tables.add(k.table);
        }
        await client.query(`BEGIN;\n${statements.join(';\n')};\nCOMMIT`);
        for (const [key, token] of events) {
          const list = this.expected.get(key);
          if (list) list.push(token);
          else this.expected.set(key, [token]);
        }
        done += size;
        this.committedOps += size;
        this.transactions++;
        if (tables.size > 1) this.multiTable++;
        this.largest = Math.max(this.largest, size);
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** The model against the source itself: every live key at its last version, nothing else. */
  async checkSource(source: TestCluster, database: string): Promise<void> {
    const actual = new Set<string>();
    const rows = await source.query<{ k: string }>(
      database,
      `SELECT 't_int|{"id":' || id || '}|' || ver AS k FROM t_int
       UNION ALL SELECT 't_comp|{"region":"' || region || '","num":' || num || '}|' || ver FROM t_comp
       UNION ALL SELECT 't_full|{"id":"' || id || '"}|' || ver FROM t_full`,
    );
    for (const r of rows) actual.add(r.k);
    const expected = new Set<string>();
    for (const [key, tokens] of this.expected) {
      const last = tokens[tokens.length - 1];
      if (!last.startsWith('d')) expected.add(`${key}|${last.slice(1)}`);
    }
    expect(actual.size).toBe(expected.size);
    expect([...expected].filter((k) => !actual.has(k)).slice(0, 5)).toEqual([]);
  }
}

interface CaptureSetup {
  source: TestCluster;
  database: string;
  sourceName: string;
  platformUrl: string;
  configFile: string;
}

describe('capture under faults (kill -9, platform restarts, hot standby, heartbeats)', () => {
  const versions = testedVersions();
  const sources = new Map<PgVersion, TestCluster>();
  let platform: TestCluster;
  let dir: string;
  let captureApp: string;
  const processes: AppProcess[] = [];
  const clients: Client[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-capture-faults-'));
    captureApp = await copyBuiltCaptureApp(join(dir, 'app'));
    // allSettled: when one cluster cannot start (no Postgres 15 under CI), the others still get stopped.
    const started = await Promise.allSettled([TestCluster.start(18), ...versions.map((v) => TestCluster.start(v))]);
    if (started[0].status === 'fulfilled') platform = started[0].value;
    versions.forEach((v, i) => {
      const r = started[i + 1];
      if (r.status === 'fulfilled') sources.set(v, r.value);
    });
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }, 180_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await Promise.all([platform?.stop(), ...[...sources.values()].map((s) => s.stop())]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  /** A source database with the tables, a platform database, and the YAML naming them. */
  async function setup(version: PgVersion, name: string, heartbeatIntervalMs = 500): Promise<CaptureSetup> {
    const source = sources.get(version) ?? sources.get(18);
    if (!source) throw new Error('no Postgres 18 source cluster');
    await source.createDatabase(name);
    for (const ddl of DDL) await source.query(name, ddl);
    const platformUrl = await platform.createDatabase(`platform_${name}`);
    const configFile = join(dir, `${name}.yaml`);
    writeFileSync(
      configFile,
      [
        'topicDefaults: { partitions: 4 }',
        'retentionCheckIntervalMs: 3600000',
        'sources:',
        `  - name: ${name}`,
        `    url: "${source.url(name)}"`,
        `    tables: [${CAPTURED.map((t) => `public.${t}`).join(', ')}]`,
        `    heartbeatIntervalMs: ${heartbeatIntervalMs}`,
        // Small batches: a large source transaction is appended in several statements before its commit.
        '    batchSize: 500',
        '    maxBatchDelayMs: 20',
      ].join('\n'),
    );
    return { source, database: name, sourceName: name, platformUrl, configFile };
  }

  function startCapture(s: CaptureSetup): AppProcess {
    const p = new AppProcess(captureApp, {
      TRIBUTARY_DATABASE_URL: s.platformUrl,
      TRIBUTARY_CONFIG: s.configFile,
      TRIBUTARY_LOG_LEVEL: 'log',
    });
    processes.push(p);
    return p;
  }

  const alive = (p: AppProcess) => p.child.exitCode === null && p.child.signalCode === null;
  const streamingSessions = (p: AppProcess) => p.output.split('streaming slot').length - 1;

  async function slot(s: CaptureSetup): Promise<{ active_pid: number | null; confirmed: string | null } | undefined> {
    const rows = await s.source.query<{ active_pid: number | null; confirmed: string | null }>(
      s.database,
      `SELECT active_pid, confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1`,
      [`tributary_${s.sourceName}`],
    );
    return rows[0];
  }

  /** Waits until the process streams the slot (its log says so and the slot is active). */
  async function waitStreaming(s: CaptureSetup, p: AppProcess, sessions = 1, timeoutMs = 120_000): Promise<void> {
    await waitFor(
      async () => {
        if (!alive(p)) throw new Error(`capture exited:\n${p.output.slice(-3000)}`);
        return streamingSessions(p) >= sessions && Boolean((await slot(s))?.active_pid);
      },
      'capture to stream the slot',
      timeoutMs,
    );
  }

  /** Waits until the slot has confirmed a WAL position taken now: everything before it is stored. */
  async function waitCaughtUp(s: CaptureSetup, timeoutMs = 240_000): Promise<string> {
    const [{ lsn }] = await s.source.query<{ lsn: string }>(s.database, 'SELECT pg_current_wal_lsn()::text AS lsn');
    await waitFor(
      async () => {
        const [row] = await s.source.query<{ ok: boolean }>(
          s.database,
          `SELECT confirmed_flush_lsn >= $1::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $2`,
          [lsn, `tributary_${s.sourceName}`],
        );
        return row?.ok;
      },
      `the slot to confirm ${lsn}`,
      timeoutMs,
    );
    return lsn;
  }

  async function platformQuery<T extends Record<string, unknown>>(s: CaptureSetup, sql: string, params: unknown[] = []) {
    const database = new URL(s.platformUrl).pathname.slice(1);
    return platform.query<T>(database, sql, params);
  }

  /** The topic log as the platform's readers see it (every message of every topic, in offset order). */
  function platformLog(s: CaptureSetup) {
    return loggedMessages({ query: async (sql, params) => ({ rows: await platformQuery(s, sql, params) }) });
  }

  /** Exactly once, per-key order and gap-free offsets, from the topic log against the model. */
  async function verify(s: CaptureSetup, workload: Workload): Promise<string> {
    const rows = (await platformLog(s)).map((m) => {
      const e = JSON.parse(m.envelope) as { op: string; before: { ver?: number } | null; after: { ver?: number } | null };
      const ver = (e.op === 'd' ? e.before : e.after)?.ver;
      return {
        topic: m.topic,
        partition: m.partition,
        position: m.offset,
        key: m.key,
        token: e.op + (ver == null ? '' : String(ver)),
      };
    });

    // Offsets: each partition holds 0..n-1, and its head says n.
    const heads = await platformQuery<{ topic: string; partition: number; next: string }>(
      s,
      `SELECT topic, partition, next_offset::text AS next FROM tributary.topic_partitions`,
    );
    const counts = new Map<string, number>();
    const gaps: string[] = [];
    for (const r of rows) {
      const id = `${r.topic}/${r.partition}`;
      const n = counts.get(id) ?? 0;
      if (Number(r.position) !== n) gaps.push(`${id}: offset ${r.position} where ${n} was expected`);
      counts.set(id, n + 1);
    }
    expect(gaps.slice(0, 5)).toEqual([]);
    for (const h of heads)
      expect(`${h.topic}/${h.partition}:${h.next}`).toBe(
        `${h.topic}/${h.partition}:${counts.get(`${h.topic}/${h.partition}`) ?? 0}`,
      );

    // Only the captured tables have topics.
    const topics = new Set(rows.map((r) => r.topic));
    expect([...topics].filter((t) => !CAPTURED.some((c) => t === `${s.sourceName}.public.${c}`))).toEqual([]);

    // Each key's changes: exactly the committed ones, once each, in commit order (offset order). Snapshot
    // reads (op r, from an initial snapshot of the tables racing the workload) are not changes.
    const changes = rows.filter((r) => !r.token.startsWith('r'));
    const actual = new Map<string, string[]>();
    for (const r of changes) {
      const id = `${r.topic.split('.').pop()}|${r.key}`;
      const list = actual.get(id);
      if (list) list.push(r.token);
      else actual.set(id, [r.token]);
    }
    let lost = 0;
    let duplicated = 0;
    const wrong: string[] = [];
    for (const id of new Set([...workload.expected.keys(), ...actual.keys()])) {
      const want = workload.expected.get(id) ?? [];
      const got = actual.get(id) ?? [];
      const left = new Map<string, number>();
      for (const t of want) left.set(t, (left.get(t) ?? 0) + 1);
      for (const t of got) left.set(t, (left.get(t) ?? 0) - 1);
      for (const n of left.values()) {
        if (n > 0) lost += n;
        if (n < 0) duplicated -= n;
      }
      if (want.join(',') !== got.join(',')) wrong.push(`${id}: expected ${want.join(',')} got ${got.join(',')}`);
    }
    expect({ lost, duplicated, wrongKeys: wrong.length, examples: wrong.slice(0, 3) }).toEqual({
      lost: 0,
      duplicated: 0,
      wrongKeys: 0,
      examples: [],
    });
    expect(changes.length).toBe(workload.expectedCount);
    return `${changes.length} change messages${rows.length > changes.length ? ` (+${rows.length - changes.length} snapshot reads)` : ''}`;
  }

  interface Scenario {
    start(s: CaptureSetup): AppProcess;
    run(workload: Workload): Promise<void>;
  }

  /**
   * Runs a test body that starts capture processes and workloads; whatever happens, stops them all
   * afterwards, and on failure prints the processes' output (which is what explains a failure).
   */
  async function scenario(body: (sc: Scenario) => Promise<void>): Promise<void> {
    const procs: AppProcess[] = [];
    const workloads: { workload: Workload; running: Promise<void> }[] = [];
    const sc: Scenario = {
      start: (s) => {
        const p = startCapture(s);
        procs.push(p);
        return p;
      },
      run: (workload) => {
        const running = workload.run();
        running.catch(() => undefined); // awaited by the body; a failing body must not leave it unhandled
        workloads.push({ workload, running });
        return running;
      },
    };
    try {
      await body(sc);
    } catch (error) {
      for (const p of procs) process.stderr.write(`--- capture pid ${p.child.pid} ---\n${p.output.slice(-6000)}\n`);
      throw error;
    } finally {
      for (const { workload } of workloads) workload.stop();
      await Promise.all(workloads.map(({ workload, running }) => running.catch(() => undefined).then(() => workload.close())));
      await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    }
  }

  /**
   * Holds the workload once it is `slack` ops past the next fault's trigger point until that fault has
   * started, so that every fault lands while the workload is still running however slow the machine is.
   */
  function faultGate(triggers: number[], started: () => number, slack: number): (done: number) => boolean {
    return (done) => started() < triggers.length && done > triggers[started()] + slack;
  }

  const killRuns = versions.map((version) => ({ version, ops: 50_000, kills: 6 }));

  it.each(killRuns)(
    'kill -9 of capture $kills times during a $ops-op workload on Postgres $version: every change exactly once, in order',
    ({ version, ops, kills }) =>
      scenario(async (sc) => {
        const s = await setup(version, `kill${version}`);
        let capture = sc.start(s);
        await waitStreaming(s, capture);
        // One random moment in each of `kills` equal slices of the workload (5%..90%).
        const triggers = Array.from({ length: kills }, (_, i) => Math.floor(ops * (0.05 + (0.85 * (i + Math.random())) / kills)));
        const log: { at: number; stored: number; whileStreaming: boolean }[] = [];
        const workload = new Workload(
          s.source.url(s.database),
          ops,
          2,
          faultGate(triggers, () => log.length, ops * 0.04),
        );
        let workloadDone = false;
        const running = sc.run(workload);
        const finished = () => (workloadDone = true);
        running.then(finished, finished);

        for (const [i, trigger] of triggers.entries()) {
          await waitFor(() => workload.committedOps >= trigger || workloadDone, `the workload to pass ${trigger} ops`, 300_000);
          // Mostly kill a streaming capture (mid-append, mid-acknowledgement); every third one maybe still starting.
          if (i % 3 !== 2) {
            await waitStreaming(s, capture, 1, 120_000);
            await sleep(between(0, 800));
          } else {
            await sleep(between(0, 300));
          }
          const whileStreaming = streamingSessions(capture) > 0;
          await capture.kill('SIGKILL');
          const [{ n }] = await platformQuery<{ n: number }>(
            s,
            'SELECT COALESCE(sum(next_offset), 0)::int AS n FROM tributary.topic_partitions',
          );
          log.push({ at: workload.committedOps, stored: n, whileStreaming });
          await sleep(between(50, 1500));
          capture = sc.start(s);
        }
        await running;
        expect(log.length).toBeGreaterThanOrEqual(5);

        await waitCaughtUp(s);
        await workload.checkSource(s.source, s.database);
        const messages = await verify(s, workload);
        expect(alive(capture)).toBe(true);
        process.stdout.write(
          `capture kill test (Postgres ${version}): ${workload.committedOps} ops in ${workload.transactions} transactions ` +
            `(${workload.multiTable} multi-table, largest ${workload.largest}), ${messages}, ${log.length} kills at ` +
            `${log.map((k) => `${k.at} ops/${k.stored} stored${k.whileStreaming ? '' : ' (starting)'}`).join(', ')}\n`,
        );
      }),
    600_000,
  );

  it(
    'platform database restarts (immediate and fast) during a workload: reconnects, every change exactly once',
    () =>
      scenario(async (sc) => {
        const s = await setup(18, 'prestart');
        const capture = sc.start(s);
        await waitStreaming(s, capture);
        const ops = 5_000;
        const triggers = [Math.floor(ops * 0.2), Math.floor(ops * 0.6)];
        let restarts = 0;
        const workload = new Workload(
          s.source.url(s.database),
          ops,
          2,
          faultGate(triggers, () => restarts, ops * 0.05),
        );
        const running = sc.run(workload);
        for (const [i, mode] of (['immediate', 'fast'] as const).entries()) {
          await waitFor(() => workload.committedOps >= triggers[i], `the workload to pass ${triggers[i]} ops`, 300_000);
          await waitStreaming(s, capture, i + 1);
          const before = streamingSessions(capture);
          restarts++;
          await platform.pg.restart(mode);
          // Capture notices, backs off, reconnects and streams again from its checkpoint.
          await waitStreaming(s, capture, before + 1, 180_000);
        }
        await running;
        await waitCaughtUp(s);
        await workload.checkSource(s.source, s.database);
        const messages = await verify(s, workload);
        expect(alive(capture)).toBe(true);
        expect(capture.output.split('reconnecting in').length - 1).toBeGreaterThanOrEqual(2);
        process.stdout.write(
          `platform restart test: ${workload.committedOps} ops, ${messages}, ${streamingSessions(capture)} streaming sessions\n`,
        );
      }),
    600_000,
  );

  it(
    'hot standby: one of two captures streams; when it is killed the standby takes over, exactly once',
    () =>
      scenario(async (sc) => {
        const s = await setup(18, 'standby');
        const streaming = async () => {
          const rows = await s.source.query<{ pid: number }>(
            s.database,
            `SELECT pid FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'`,
            [`tributary-capture:${s.sourceName}`],
          );
          return rows.map((r) => r.pid);
        };
        let sampling = true;
        let maxStreaming = 0;
        const sampler = (async () => {
          while (sampling) {
            const pids = await streaming().catch(() => []);
            maxStreaming = Math.max(maxStreaming, pids.length);
            await sleep(100);
          }
        })();
        try {
          const first = sc.start(s);
          await waitStreaming(s, first);
          const standby = sc.start(s);
          await waitFor(() => standby.output.includes('waiting as hot standby'), 'the second capture to wait as standby');
          // Exactly one walsender streams the slot, and it is the slot's active one.
          const pids = await waitFor(async () => {
            const p = await streaming();
            return p.length === 1 && p;
          }, 'one streaming walsender');
          expect((await slot(s))?.active_pid).toBe(pids[0]);
          expect(streamingSessions(standby)).toBe(0);

          const ops = 5_000;
          let killed = 0;
          const workload = new Workload(
            s.source.url(s.database),
            ops,
            2,
            faultGate([ops * 0.4], () => killed, ops * 0.05),
          );
          const running = sc.run(workload);
          await waitFor(() => workload.committedOps >= ops * 0.4, 'the workload to pass 40%', 300_000);
          killed++;
          await first.kill('SIGKILL');
          await waitFor(() => standby.output.includes('took over as the active capture'), 'the standby to take over', 120_000);
          await waitStreaming(s, standby, 1, 180_000);
          await running;

          // The killed instance comes back, and now it is the standby.
          const back = sc.start(s);
          await waitFor(() => back.output.includes('waiting as hot standby'), 'the restarted capture to wait as standby');

          await waitCaughtUp(s);
          await workload.checkSource(s.source, s.database);
          const messages = await verify(s, workload);
          expect(streamingSessions(back)).toBe(0);
          expect(alive(standby)).toBe(true);
          sampling = false;
          await sampler;
          expect(maxStreaming).toBe(1);
          process.stdout.write(`hot standby test: ${workload.committedOps} ops, ${messages}, one takeover\n`);
        } finally {
          sampling = false;
          await sampler;
        }
      }),
    600_000,
  );

  it(
    'heartbeats move the slot while only uncaptured tables change, and capture none of them',
    () =>
      scenario(async (sc) => {
        const s = await setup(versions[0], 'heartbeat', 300);
        const capture = sc.start(s);
        await waitStreaming(s, capture);
        const client = new Client({ connectionString: s.source.url(s.database) });
        client.on('error', () => undefined);
        clients.push(client);
        await client.connect();
        const start = (await slot(s))?.confirmed;
        const passed: string[] = [];
        for (let round = 0; round < 3; round++) {
          for (let i = 0; i < 200; i++) await client.query(`INSERT INTO t_noise (note) VALUES (repeat('n', 200))`);
          await client.query(`INSERT INTO t_noise (note) SELECT repeat('m', 100) FROM generate_series(1, 5000)`);
          await client.query(`UPDATE t_noise SET note = 'u' WHERE id % 3 = 0`);
          passed.push(await waitCaughtUp(s, 120_000));
        }
        const count = async () => (await platformLog(s)).length;
        expect(await count()).toBe(0);
        expect(await platformQuery(s, `SELECT name FROM tributary.topics WHERE name LIKE '%t_noise%'`)).toEqual([]);

        // Capture was live all along: a change to a captured table arrives, once.
        await client.query(`INSERT INTO t_int (id, ver, note) VALUES (1, 0, 'x')`);
        await waitFor(async () => (await count()) === 1, 'the captured insert');
        await waitCaughtUp(s);
        expect((await platformLog(s)).map((m) => m.topic)).toEqual([`${s.sourceName}.public.t_int`]);
        await client.end();
        process.stdout.write(`heartbeat test: slot confirmed ${start} -> ${passed.join(' -> ')} with only t_noise written\n`);
      }),
    300_000,
  );
});
