import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import Redis from 'ioredis';
import { waitFor } from './pg-cluster';

/** A private redis-server on a port of the test's choosing, with nothing saved to disk; stop() kills it. */
export class RedisServer {
  private child?: ChildProcess;

  constructor(
    readonly port: number,
    private readonly password?: string,
  ) {}

  get url(): string {
    return this.password
      ? `redis://:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}`
      : `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    if (this.password) args.push('--requirepass', this.password);
    this.child = spawn('redis-server', args, { stdio: 'ignore' });
    const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await waitFor(
        () =>
          client
            .connect()
            .then(() => client.ping())
            .then(() => true)
            .catch(() => false),
        `redis-server on port ${this.port} to answer`,
        30_000,
      );
    } finally {
      client.disconnect();
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Whether a broker the suite expects listens at host:port, for choosing at load time between `it` and
 * `it.skip` (a test left out is reported skipped, never passed). Under CI=true always true: the test
 * then fails on the missing service.
 */
export function serviceExpected(host: string, port: number, what: string): boolean {
  if (process.env.CI === 'true') return true;
  const probe = spawnSync(
    process.execPath,
    [
      '-e',
      `require('net').connect(${port}, ${JSON.stringify(host)}).on('connect', () => process.exit(0)).on('error', () => process.exit(1))`,
    ],
    { timeout: 3_000 },
  );
  if (probe.status === 0) return true;
  process.stderr.write(`NOTE: no ${what} at ${host}:${port}; its tests are left out on this machine\n`);
  return false;
}
