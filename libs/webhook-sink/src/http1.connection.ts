import type { Socket } from 'node:net';
import { ParsedResponse, ResponseParser } from './http1.response';

export interface ExchangeResult {
  response?: ParsedResponse;
  error?: NodeJS.ErrnoException;
  /** A response had begun to arrive when it failed (a connection that died before that may be stale). */
  started: boolean;
}

/**
 * One connection to a webhook endpoint, carrying one request at a time (no pipelining). Its socket's
 * listeners are set once, not per request; whatever the socket does while no request is in flight
 * (data, end, error) ends the connection, so an idle one is never handed out half-closed.
 */
export class Http1Connection {
  /** Exchanges completed on this connection: above 0, it was kept alive and reused. */
  completed = 0;
  private parser?: ResponseParser;
  private settle?: (result: ExchangeResult) => void;
  private gone = false;

  constructor(
    readonly socket: Socket,
    private readonly bodyLimit: number,
    /** Called once when the connection is closed (by either side). */
    private readonly onGone: (connection: Http1Connection) => void,
  ) {
    socket.on('data', (data: Buffer) => this.received(data));
    socket.on('end', () => this.ended());
    socket.on('close', () => this.ended());
    socket.on('error', (error: NodeJS.ErrnoException) => this.failed(error));
  }

  get closed(): boolean {
    return this.gone;
  }

  /** Sends a request (serialised whole); `done` is called exactly once, unless `destroy` comes first. */
  exchange(request: Buffer, done: (result: ExchangeResult) => void): void {
    if (this.gone || this.settle) {
      done({ error: hangUp('the connection is not available'), started: false });
      return;
    }
    this.parser = new ResponseParser(this.bodyLimit);
    this.settle = done;
    this.socket.write(request);
  }

  /** Closes the connection; a request in flight gets no callback (the caller has given up on it). */
  destroy(): void {
    this.settle = undefined;
    this.close();
  }

  /** Closes the connection; a request in flight fails with `reason`. */
  shutdown(reason: string): void {
    if (this.settle) this.finish({ error: hangUp(reason), started: this.parser?.started ?? false });
    this.close();
  }

  private received(data: Buffer): void {
    const parser = this.parser;
    if (!parser || !this.settle) return this.close(); // nothing was asked: an idle connection must stay silent
    let response: ParsedResponse | undefined;
    try {
      response = parser.feed(data);
    } catch (error) {
      return this.finish({ error: error as NodeJS.ErrnoException, started: true });
    }
    if (response) this.finish({ response, started: true });
  }

  private ended(): void {
    const parser = this.parser;
    if (parser && this.settle) {
      const response = parser.end();
      this.finish(response ? { response, started: true } : { error: hangUp('socket hang up'), started: parser.started });
    }
    this.close();
  }

  private failed(error: NodeJS.ErrnoException): void {
    if (this.settle) this.finish({ error, started: this.parser?.started ?? false });
    this.close();
  }

  private finish(result: ExchangeResult): void {
    const settle = this.settle;
    this.settle = undefined;
    this.parser = undefined;
    if (result.response) this.completed++;
    if (!result.response?.reusable) this.close();
    settle?.(result);
  }

  private close(): void {
    if (this.gone) return;
    this.gone = true;
    this.socket.destroy();
    this.onGone(this);
  }
}

function hangUp(message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code: 'ECONNRESET' });
}
