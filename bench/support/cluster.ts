import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { bundledBinDir, freePort, LocalPostgres, systemBinDir } from '@tributary/local-postgres';
import { sleep } from '@tributary/timing';
import { onCleanup } from './cleanup';

/** A private cluster with wal_level=logical in a temporary folder; stopped and removed at cleanup. */
export class BenchCluster {
  private constructor(
    readonly pg: LocalPostgres,
    /** Major version, e.g. 15. */
    readonly version: number,
    /** The full version string (`PostgreSQL 15.x ...`). */
    readonly versionText: string,
    /** True when these are the system binaries (which include pg_recvlogical). */
    readonly system: boolean,
  ) {}

  /**
   * Starts the system Postgres (15 on the reference machine) when installed, otherwise the bundled 18;
   * `BENCH_POSTGRES=bundled` takes the bundled 18 anyway (what differs on 16+: a slot's restart_lsn
   * follows capture's acknowledgements, see docs/internals.md). As root, Postgres runs as the `postgres`
   * user, so the temp folder is made world-readable.
   */
  static async start(settings: Record<string, string> = {}): Promise<BenchCluster> {
    const systemDir = process.env.BENCH_POSTGRES === 'bundled' ? undefined : systemBinDir();
    const binDir = systemDir ?? bundledBinDir();
    const root = mkdtempSync(join(tmpdir(), 'tributary-bench-pg-'));
    chmodSync(root, 0o755);
    const pg = new LocalPostgres({ dataDir: join(root, 'data'), port: await freePort(), binDir, settings });
    onCleanup(`cluster in ${root}`, async () => {
      await pg.stop();
      rmSync(root, { recursive: true, force: true });
    });
    await pg.start();
    const text = (await queryOnce(pg.url(), 'SELECT version() AS v'))[0].v as string;
    return new BenchCluster(pg, pg.version(), text.split(' on ')[0], systemDir !== undefined);
  }

  get binDir(): string {
    return this.pg.binDir;
  }

  /** pg_recvlogical of these binaries, if they have it (the embedded bundle does not). */
  get pgRecvlogical(): string | undefined {
    const path = join(this.pg.binDir, 'pg_recvlogical');
    return existsSync(path) ? path : undefined;
  }

  url(database = 'postgres'): string {
    return this.pg.url(database);
  }

  async createDatabase(name: string): Promise<string> {
    await this.query('postgres', `CREATE DATABASE ${name}`);
    return this.url(name);
  }

  query<T = Record<string, unknown>>(database: string, sql: string, params: unknown[] = []): Promise<T[]> {
    return queryOnce(this.url(database), sql, params) as Promise<T[]>;
  }
}

/** One query on a fresh connection. */
export async function queryOnce(url: string, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** A temporary folder removed at cleanup. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(`temp folder ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Polls `probe` every `everyMs` until it returns a truthy value. */
export async function waitUntil<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs: number,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
