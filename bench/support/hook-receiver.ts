import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onCleanup } from './cleanup';

/** What a receiver keeps of an envelope: its id, the key's row id and the writer's sequence number. */
interface Envelope {
  id: string;
  after?: { id?: number | string; seq?: number | string } | null;
  source?: { ts_ms?: number };
}

/**
 * A webhook endpoint on loopback, in the bench process: answers 204 at once (or 503, or refuses
 * connections, while `down`), and keeps per message the latency from the source commit, and per key
 * whether messages arrived out of source order (the writer's `seq` goes up per key).
 */
export class HookReceiver {
  /** Latencies (receipt − source commit, ms) of first receipts since the last `resetLatencies()`. */
  latencies: number[] = [];
  /** Every distinct `seq` received. */
  readonly seqs = new Set<number>();
  duplicates = 0;
  reorders = 0;
  failedRequests = 0;
  /** Time (epoch ms) of the last first receipt. */
  lastReceiptAt = 0;
  private readonly ids = new Set<string>();
  private readonly lastSeqOfKey = new Map<string, number>();
  private server: Server;
  private port = 0;
  private mode: 'up' | '503' | 'refuse' = 'up';

  constructor(readonly name: string) {
    this.server = this.newServer();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(): Promise<void> {
    await this.listen(0);
    onCleanup(`receiver ${this.name}`, () => this.close());
  }

  resetLatencies(): void {
    this.latencies = [];
  }

  /** From now on answers 503 to every request, or refuses connections (the port is closed). */
  async down(mode: '503' | 'refuse'): Promise<void> {
    this.mode = mode;
    if (mode === 'refuse') await this.close();
  }

  /** Answers 204 again (listening on the same port once more after `refuse`). */
  async up(): Promise<void> {
    if (this.mode === 'refuse') {
      this.server = this.newServer();
      await this.listen(this.port);
    }
    this.mode = 'up';
  }

  /** How many of seq 1..`upTo` have been received. */
  receivedUpTo(upTo: number): number {
    let n = 0;
    for (const s of this.seqs) if (s <= upTo) n++;
    return n;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private newServer(): Server {
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 60_000;
    return server;
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve) =>
      this.server.listen(port, '127.0.0.1', () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      }),
    );
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = Date.now();
      if (this.mode !== 'up') {
        this.failedRequests++;
        res.writeHead(503).end();
        return;
      }
      const body = Buffer.concat(chunks).toString();
      const envelopes = (body.startsWith('[') ? JSON.parse(body) : [JSON.parse(body)]) as Envelope[];
      for (const e of envelopes) this.receive(e, now);
      res.writeHead(204).end();
    });
  }

  private receive(e: Envelope, now: number): void {
    if (this.ids.has(e.id)) {
      this.duplicates++;
      return;
    }
    this.ids.add(e.id);
    this.lastReceiptAt = now;
    if (e.source?.ts_ms) this.latencies.push(now - e.source.ts_ms);
    const seq = Number(e.after?.seq);
    if (!Number.isFinite(seq)) return;
    this.seqs.add(seq);
    const key = String(e.after?.id);
    const last = this.lastSeqOfKey.get(key) ?? 0;
    if (seq < last) this.reorders++;
    else this.lastSeqOfKey.set(key, seq);
  }
}
