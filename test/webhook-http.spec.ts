import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import {
  Agent,
  createServer as createHttpServer,
  request as nodeRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_RESPONSE_BYTES, WebhookHttpClient } from '@tributary/webhook-sink';

describe('the webhook HTTP client', () => {
  describe('against real servers', () => {
    const servers: (Server | TcpServer)[] = [];
    const clients: WebhookHttpClient[] = [];
    afterEach(async () => {
      for (const c of clients.splice(0)) c.close();
      for (const socket of sockets.splice(0)) socket.destroy();
      for (const s of servers.splice(0)) {
        if ('closeAllConnections' in s) s.closeAllConnections();
        await new Promise((resolve) => s.close(resolve));
      }
    });

    const sockets: Socket[] = [];
    async function listen<T extends Server | TcpServer>(server: T): Promise<number> {
      servers.push(server);
      server.on('connection', (socket: Socket) => sockets.push(socket));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as AddressInfo).port;
    }
    function client(url: string, allowPrivate = true): WebhookHttpClient {
      const c = new WebhookHttpClient(url, allowPrivate);
      clients.push(c);
      return c;
    }
    const body = (req: IncomingMessage): Promise<string> =>
      new Promise((resolve) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks).toString()));
      });

    it('keeps connections alive across requests, sends the headers and body as given, basic auth from the URL', async () => {
      const seen: { socket: Socket; headers: IncomingMessage['headers']; url?: string; body: string }[] = [];
      const server = createHttpServer(async (req: IncomingMessage, res: ServerResponse) => {
        seen.push({ socket: req.socket, headers: req.headers, url: req.url, body: await body(req) });
        res.writeHead(200, { 'retry-after': '3' }).end('fine');
      });
      const port = await listen(server);
      const c = client(`http://us%40er:p%3Ass@127.0.0.1:${port}/hook?x=1#frag`);
      const payload = Buffer.from(JSON.stringify({ id: 'é', big: 'z'.repeat(40_000) }));
      for (let i = 0; i < 6; i++) {
        const outcome = await c.post({ 'content-type': 'application/json', 'x-n': String(i) }, payload, 5_000);
        expect(outcome).toMatchObject({ status: 200, body: 'fine', headers: { 'retry-after': '3' } });
      }
      // undici's pool opens a second connection for a request that comes the moment the first one finished
      // (before that connection is marked free again); from then on the two are reused.
      expect(new Set(seen.map((s) => s.socket)).size).toBeLessThanOrEqual(2);
      expect(seen.map((s) => [s.url, s.headers['x-n'], s.body === payload.toString()])).toEqual(
        [0, 1, 2, 3, 4, 5].map((n) => ['/hook?x=1', String(n), true]),
      );
      expect(seen[0].headers.host).toBe(`127.0.0.1:${port}`);
      expect(Buffer.from(String(seen[0].headers.authorization).replace('Basic ', ''), 'base64').toString()).toBe('us@er:p:ss');
      expect((await c.post({ 'x-bad': 'a\u0000b' }, payload, 5_000)).error).toMatch(/invalid character in header content/);
    });

    it('retries once on a new connection when the server closed the kept-alive one; reports resets and timeouts', async () => {
      let requests = 0;
      const server = createHttpServer((req, res) => {
        requests++;
        void body(req).then(() => res.writeHead(204).end());
      });
      const port = await listen(server);
      const c = client(`http://127.0.0.1:${port}/`);
      expect((await c.post({}, Buffer.from('1'), 5_000)).status).toBe(204);
      server.closeIdleConnections(); // what a server's keep-alive timeout does
      expect((await c.post({}, Buffer.from('2'), 5_000)).status).toBe(204);
      expect(requests).toBe(2);

      // The server closes a kept-alive connection as the next request arrives on it, answering nothing
      // (the race a keep-alive timeout leaves): that request is sent once more, on another connection.
      let closedOnArrival = 0;
      const racing = createTcpServer((socket) => {
        let served = 0;
        socket.on('data', () => {
          if (served > 0 && closedOnArrival === 0) {
            closedOnArrival++;
            return void socket.destroy();
          }
          served++;
          socket.write('HTTP/1.1 204 No Content\r\n\r\n');
        });
      });
      const racingClient = client(`http://127.0.0.1:${await listen(racing)}/`);
      for (let i = 0; i < 5; i++) expect((await racingClient.post({}, Buffer.from('x'), 5_000)).status).toBe(204);
      expect(closedOnArrival).toBe(1);

      const rude = createTcpServer((socket) => socket.once('data', () => socket.destroy()));
      const rudePort = await listen(rude);
      expect((await client(`http://127.0.0.1:${rudePort}/`).post({}, Buffer.from('x'), 5_000)).error).toBe(
        'ECONNRESET: socket hang up',
      );
      const silent = createTcpServer(() => undefined);
      const silentPort = await listen(silent);
      const slow = await client(`http://127.0.0.1:${silentPort}/`).post({}, Buffer.from('x'), 200);
      expect(slow.error).toBe('timed out after 200 ms');
      expect(slow.latencyMs).toBeGreaterThanOrEqual(190);
      const closed = await client(`http://127.0.0.1:${await freePortNumber()}/`).post({}, Buffer.from('x'), 5_000);
      expect(closed.error).toMatch(/ECONNREFUSED/);
      const big = createHttpServer((req, res) => void body(req).then(() => res.writeHead(500).end('b'.repeat(1_000_000))));
      const bigPort = await listen(big);
      const outcome = await client(`http://127.0.0.1:${bigPort}/`).post({}, Buffer.from('x'), 5_000);
      expect([outcome.status, outcome.body?.length]).toEqual([500, MAX_RESPONSE_BYTES]);
    });

    it("reads responses as Node's own client (llhttp) does, however the bytes are split", async () => {
      const responses = [
        'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello',
        'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n',
        'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nContent-Length: 4\r\n\r\nslow',
        'HTTP/1.1 302 Found\r\nLocation: http://elsewhere/\r\nContent-Length: 0\r\n\r\n',
        'HTTP/1.1 204 No Content\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\n',
        'HTTP/1.1 503 Unavailable\r\nConnection: close\r\n\r\nrun to the end',
        `HTTP/1.1 500 Error\r\nContent-Length: 6000\r\n\r\n${'é'.repeat(3_000)}`,
        'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold',
      ];
      let current = '';
      const raw = createTcpServer((socket) => {
        socket.once('data', () => {
          // The response in three pieces at random places, each its own write.
          const bytes = Buffer.from(current);
          const cuts = [Math.random(), Math.random()].map((f) => Math.floor(f * bytes.length)).sort((a, b) => a - b);
          const pieces = [bytes.subarray(0, cuts[0]), bytes.subarray(cuts[0], cuts[1]), bytes.subarray(cuts[1])];
          const next = (): void => {
            const piece = pieces.shift();
            if (!piece) return void socket.end();
            socket.write(piece, () => setTimeout(next, 2));
          };
          next();
        });
      });
      const port = await listen(raw);
      const reference = (): Promise<{ status?: number; headers: Record<string, unknown>; body: string }> =>
        new Promise((resolve, reject) => {
          const req = nodeRequest(
            { host: '127.0.0.1', port, method: 'POST', path: '/', agent: new Agent({ keepAlive: false }) },
            (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () =>
                resolve({
                  status: res.statusCode,
                  headers: res.headers,
                  body: Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString('utf8'),
                }),
              );
            },
          );
          req.on('error', reject);
          req.end('x');
        });
      for (const response of responses) {
        for (let round = 0; round < 5; round++) {
          current = response;
          const expected = await reference();
          const ours = await client(`http://127.0.0.1:${port}/`).post({}, Buffer.from('x'), 5_000);
          expect([response, ours.status, ours.headers, ours.body]).toEqual([
            response,
            expected.status,
            expected.headers,
            expected.body,
          ]);
        }
      }
    });

    it('checks TLS certificates (a self-signed one is refused) and refuses private addresses unless allowed', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tributary-webhook-tls-'));
      try {
        execFileSync('openssl', [
          'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
          '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
        ], { stdio: 'ignore' }); // prettier-ignore
        const tls = createHttpsServer(
          { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
          (req, res) => res.writeHead(204).end(),
        );
        const port = await listen(tls);
        const outcome = await client(`https://localhost:${port}/`).post({}, Buffer.from('x'), 5_000);
        expect(outcome.status).toBeUndefined();
        expect(outcome.error).toMatch(/self[- ]signed certificate/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const plain = createHttpServer((req, res) => res.writeHead(204).end());
      const port = await listen(plain);
      expect((await client(`http://127.0.0.1:${port}/`, false).post({}, Buffer.from('x'), 5_000)).error).toMatch(
        /^refused: 127\.0\.0\.1 resolves only to loopback/,
      );
      expect((await client(`http://localhost:${port}/`, false).post({}, Buffer.from('x'), 5_000)).error).toMatch(
        /^refused: localhost resolves only to loopback/,
      );
    });
  });
});

async function freePortNumber(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
