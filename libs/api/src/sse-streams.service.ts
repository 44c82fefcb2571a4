import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';

/** A comment line this often keeps proxies and load balancers from closing a quiet stream. */
const KEEP_ALIVE_MS = 15_000;

/** One open server-sent-events response. */
export class SseStream {
  private ended = false;
  private readonly closers: (() => void)[] = [];
  private readonly keepAlive: NodeJS.Timeout;

  constructor(
    req: Request,
    private readonly res: Response,
  ) {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('X-Accel-Buffering', 'no'); // nginx would hold events back in its buffer
    res.flushHeaders();
    res.write(': connected\n\n');
    this.keepAlive = setInterval(() => this.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    // The response's close: the client went away (or the stream was ended); the request's may come earlier.
    res.on('close', () => this.end());
    req.socket.setTimeout(0); // an idle stream between events is not a dead connection
  }

  get closed(): boolean {
    return this.ended;
  }

  /** One event; `data` is one JSON line (a newline inside would start a new field). */
  send(event: string, data: string): void {
    this.write(`event: ${event}\ndata: ${data}\n\n`);
  }

  /** Runs when the stream ends, whoever ends it (the client, the app closing). */
  onClose(fn: () => void): void {
    if (this.ended) fn();
    else this.closers.push(fn);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.keepAlive);
    for (const fn of this.closers.splice(0)) fn();
    this.res.end();
  }

  private write(chunk: string): void {
    if (!this.ended) this.res.write(chunk);
  }
}

/**
 * The open event streams of this process, ended before the HTTP server closes: a stream never ends by
 * itself, and the server's close would wait for it forever.
 */
@Injectable()
export class SseStreams implements BeforeApplicationShutdown {
  private readonly streams = new Set<SseStream>();

  open(req: Request, res: Response): SseStream {
    const stream = new SseStream(req, res);
    this.streams.add(stream);
    stream.onClose(() => this.streams.delete(stream));
    return stream;
  }

  beforeApplicationShutdown(): void {
    for (const stream of [...this.streams]) stream.end();
  }
}
