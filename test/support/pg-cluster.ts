import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort, LocalPostgres, systemBinDir } from '@tributary/local-postgres';
import { sleep } from '@tributary/timing';

export type PgVersion = 15 | 18;

/**
 * Postgres versions the capture tests run on: the bundled 18 always, and the machine's 15. Under
 * CI=true a missing 15 is a failure (startCluster throws), never a silent skip.
 */
export function testedVersions(): PgVersion[] {
  if (systemBinDir() || process.env.CI === 'true') return [15, 18];
  process.stderr.write('NOTE: no Postgres 15 binaries on this machine; capture tests run on Postgres 18 only\n');
  return [18];
}

/** A private cluster with wal_level=logical in a temporary folder, removed by stop(). */
export class TestCluster {
  private constructor(
    readonly pg: LocalPostgres,
    readonly version: PgVersion,
    private readonly root: string,
  ) {}

  static async start(version: PgVersion, settings: Record<string, string> = {}): Promise<TestCluster> {
    let binDir: string | undefined;
    if (version === 15) {
      binDir = systemBinDir();
      if (!binDir) throw new Error('Postgres 15 binaries not found (pg_config --bindir); install postgresql-15');
    }
    const root = mkdtempSync(join(tmpdir(), `tributary-pg${version}-`));
    chmodSync(root, 0o755); // Postgres runs as another user when we are root
    const pg = new LocalPostgres({ dataDir: join(root, 'data'), port: await freePort(), binDir, settings });
    await pg.start();
    return new TestCluster(pg, version, root);
  }

  /**
   * A hot standby of `primary` (same binaries), from a base backup taken without pg_basebackup:
   * pg_backup_start(), a copy of the data folder, pg_backup_stop() and its backup_label, standby.signal.
   * It streams through the physical slot `slot` (created here) and syncs failover slots
   * (sync_replication_slots, hot_standby_feedback, a dbname in primary_conninfo: Postgres 17+).
   */
  static async standbyOf(primary: TestCluster, slot: string): Promise<TestCluster> {
    await primary.query('postgres', 'SELECT pg_create_physical_replication_slot($1, true)', [slot]);
    const root = mkdtempSync(join(tmpdir(), `tributary-pg${primary.version}-standby-`));
    chmodSync(root, 0o755);
    const dataDir = join(root, 'data');
    const backup = new Client({ connectionString: primary.url() });
    await backup.connect();
    try {
      await backup.query(`SELECT pg_backup_start('tributary-standby', true)`);
      execFileSync('cp', ['-a', primary.pg.dataDir, dataDir]); // -a: the files stay the server user's
      const [{ labelfile }] = (await backup.query<{ labelfile: string }>('SELECT labelfile FROM pg_backup_stop(false)')).rows;
      for (const name of ['postmaster.pid', 'postmaster.opts']) rmSync(join(dataDir, name), { force: true });
      for (const name of readdirSync(join(dataDir, 'pg_wal'))) {
        if (statSync(join(dataDir, 'pg_wal', name)).isFile()) rmSync(join(dataDir, 'pg_wal', name)); // streamed instead
      }
      writeFileSync(join(dataDir, 'backup_label'), labelfile);
      writeFileSync(join(dataDir, 'standby.signal'), '');
      const owner = statSync(dataDir);
      for (const name of ['backup_label', 'standby.signal']) chownSync(join(dataDir, name), owner.uid, owner.gid);
    } finally {
      await backup.end();
    }
    const pg = new LocalPostgres({
      dataDir,
      port: await freePort(),
      binDir: primary.pg.binDir,
      settings: {
        primary_conninfo: `host=127.0.0.1 port=${primary.pg.port} user=postgres dbname=postgres application_name=${slot}`,
        primary_slot_name: slot,
        sync_replication_slots: 'on',
        hot_standby_feedback: 'on',
      },
    });
    await pg.start();
    return new TestCluster(pg, primary.version, root);
  }

  url(database = 'postgres'): string {
    return this.pg.url(database);
  }

  async createDatabase(name: string): Promise<string> {
    await this.query('postgres', `CREATE DATABASE ${name}`);
    return this.url(name);
  }

  async query<T extends Record<string, unknown> = Record<string, unknown>>(
    database: string,
    sql: string,
    params: unknown[] = [],
  ): Promise<T[]> {
    const client = new Client({ connectionString: this.url(database) });
    client.on('error', () => undefined); // a restart of this cluster surfaces through the query instead
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  /** What every busy or waiting session of the cluster is doing: for the message of a test that timed out. */
  async activity(): Promise<string> {
    const rows = await this.query<Record<string, unknown>>(
      'postgres',
      `SELECT datname, application_name AS app, state, wait_event_type AS wait_type, wait_event AS wait,
              round(extract(epoch FROM now() - xact_start)::numeric, 1) AS xact_s, left(query, 160) AS query
         FROM pg_stat_activity
        WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' AND state <> 'idle'
        ORDER BY xact_start NULLS LAST`,
    );
    return rows.map((r) => JSON.stringify(r)).join('\n') || '(no busy session)';
  }

  async stop(): Promise<void> {
    await this.pg.stop();
    rmSync(this.root, { recursive: true, force: true });
  }
}

export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    // A probe that never returns (a query waiting on a lock, a pool with no free client) must still end
    // in this timeout, with what it was waiting for, rather than in jest's.
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<typeof HUNG>((resolve) => (timer = setTimeout(() => resolve(HUNG), deadline - Date.now())));
    try {
      const value = await Promise.race([probe(), expired]);
      if (value === HUNG) throw new Error(`timed out waiting for ${what}: the last probe did not return within the timeout`);
      if (value) return value;
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      last = error;
    } finally {
      clearTimeout(timer);
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

const HUNG = Symbol('hung');
