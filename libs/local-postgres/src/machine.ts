import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** The machine's own Postgres binaries (pg_config --bindir, or Debian's 15), if installed. */
export function systemBinDir(): string | undefined {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    if (existsSync(join(dir, 'initdb'))) return dir;
  } catch {
    // no pg_config on PATH: try the Debian layout
  }
  const debian = '/usr/lib/postgresql/15/bin';
  return existsSync(join(debian, 'initdb')) ? debian : undefined;
}

/** A TCP port free on loopback right now (for private clusters and servers in tests and benchmarks). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
