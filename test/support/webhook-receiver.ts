import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  /** Order of arrival over the receiver's life. */
  n: number;
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Answer only after this many ms (or when `release()` is called, with `hold`). */
  delayMs?: number;
  /** Hold the request until `release()`. */
  hold?: boolean;
}

/** A webhook endpoint on loopback that keeps every request and answers as the test says. */
export class WebhookReceiver {
  readonly received: Received[] = [];
  /** What to answer; by default 204. */
  reply: (r: Received) => Reply = () => ({ status: 204 });
  /** The status each request was answered with, by arrival number. */
  readonly answered = new Map<number, number>();
  private held: (() => void)[] = [];
  private readonly server: Server;
  url = '';

  private constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  static async start(): Promise<WebhookReceiver> {
    const self = new WebhookReceiver();
    await new Promise<void>((resolve) => self.server.listen(0, '127.0.0.1', resolve));
    self.url = `http://127.0.0.1:${self.port}/hook`;
    return self;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Requests whose `webhook-id` is the given one. */
  withId(id: string): Received[] {
    return this.received.filter((r) => r.headers['webhook-id'] === id);
  }

  /** Answers the requests held so far. */
  release(): void {
    for (const go of this.held.splice(0)) go();
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const r: Received = {
      n: this.received.length,
      at: Date.now(),
      path: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.received.push(r);
    const reply = this.reply(r);
    if (reply.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs).unref());
    if (res.destroyed) return;
    this.answered.set(r.n, reply.status);
    res.writeHead(reply.status, reply.headers ?? {});
    res.end(reply.body ?? '');
  }
}
