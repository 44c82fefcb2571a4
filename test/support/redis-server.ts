import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { waitFor } from './pg-cluster';

/** A private redis-server on a port of the test's choosing, with nothing saved to disk; stop() kills it. */
export class RedisServer {
  private child?: ChildProcess;

  /** `tls`: served on TLS only (`rediss://`), with this certificate (self-signed: it is also the CA). */
  constructor(
    readonly port: number,
    private readonly password?: string,
    private readonly tls?: { certFile: string; keyFile: string; ca: string },
  ) {}

  get url(): string {
    const scheme = this.tls ? 'rediss' : 'redis';
    const auth = this.password ? `:${encodeURIComponent(this.password)}@` : '';
    return `${scheme}://${auth}127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    if (this.tls) {
      const { certFile, keyFile } = this.tls;
      args.push('--port', '0', '--tls-port', String(this.port), '--tls-cert-file', certFile, '--tls-key-file', keyFile);
      args.push('--tls-ca-cert-file', certFile, '--tls-auth-clients', 'no');
    } else args.push('--port', String(this.port));
    if (this.password) args.push('--requirepass', this.password);
    this.child = spawn('redis-server', args, { stdio: 'ignore' });
    const client = new Redis(this.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      ...(this.tls ? { tls: { ca: this.tls.ca } } : {}),
    });
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

/** A self-signed certificate for 127.0.0.1 (its own CA), made with the machine's openssl in `dir`. */
export function selfSignedCertificate(dir: string): { certFile: string; keyFile: string; ca: string } {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const made = spawnSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr.toString()}`);
  return { certFile, keyFile, ca: readFileSync(certFile, 'utf8') };
}
