import { existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { execFileSync } from 'node:child_process';

export const CONSOLE_DIST = join(__dirname, '..', '..', 'dist', 'console');

/** Builds the console with Vite into dist/console, as `npm run build` does (about 2 s), printing its size line. */
export function buildConsole(): void {
  const out = execFileSync('npx', ['vite', 'build', '--config', 'apps/console/vite.config.ts', '--logLevel', 'warn'], {
    cwd: join(__dirname, '..', '..'),
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: 'production' }, // jest's NODE_ENV=test would bundle React's development build
  });
  const size = out.split('\n').find((l) => l.startsWith('console: initial bundle'));
  if (size) console.log(size);
}

const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'";
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * Where a browser opens the console: the API itself when it serves `/console/` (the contract's serving),
 * otherwise this front, which serves dist/console at `/console/` and passes every other request through
 * to the API unchanged (headers included), so the page and the API share one origin as in production.
 */
export class ConsoleFront {
  private constructor(
    readonly base: string,
    private readonly server?: Server,
  ) {}

  static async start(apiBase: string): Promise<ConsoleFront> {
    const served = await fetch(`${apiBase}/console/`).then(
      (r) => r.ok && (r.headers.get('content-type') ?? '').includes('text/html'),
      () => false,
    );
    if (served) return new ConsoleFront(apiBase);
    const api = new URL(apiBase);
    const server = createServer((req, res) => (req.url?.startsWith('/console') ? serveFile(req, res) : pass(req, res, api)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new ConsoleFront(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, server);
  }

  get url(): string {
    return `${this.base}/console/`;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

function serveFile(req: IncomingMessage, res: ServerResponse): void {
  const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/console\/?/, '')));
  let file = join(CONSOLE_DIST, path.startsWith('..') ? 'index.html' : path);
  if (!existsSync(file) || statSync(file).isDirectory()) file = join(CONSOLE_DIST, 'index.html'); // SPA fallback
  const html = extname(file) === '.html';
  // the contract's policy on the console's HTML, so the tests show the console works under it
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    ...(html ? { 'content-security-policy': CSP } : {}),
  });
  res.end(readFileSync(file));
}

function pass(req: IncomingMessage, res: ServerResponse, api: URL): void {
  const upstream = request(
    { hostname: api.hostname, port: api.port, path: req.url, method: req.method, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  // the browser went away before the answer ended (a live stream it stopped reading): stop the upstream too
  res.on('close', () => res.writableEnded || upstream.destroy());
  req.pipe(upstream);
}
