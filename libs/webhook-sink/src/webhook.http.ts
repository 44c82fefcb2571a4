import type { IncomingHttpHeaders } from 'node:http';
import { connect as netConnect, isIP, type LookupFunction, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect } from 'node:tls';
import { checkLiteralHost, guardedLookup } from './address.guard';
import { Http1Connection, type ExchangeResult } from './http1.connection';

/** Response bodies are read up to this many bytes (for the attempt log), the rest is dropped. */
export const MAX_RESPONSE_BYTES = 4_096;
/** Idle connections are dropped after 4 s, before a server's usual 5 s keep-alive timeout closes them. */
const IDLE_TIMEOUT_MS = 4_000;
/** Idle connections kept per endpoint (one per request that was in flight at once, up to this). */
const MAX_IDLE_CONNECTIONS = 64;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** What Node's own client refuses in a header value. */
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

export interface HttpOutcome {
  /** HTTP status, or undefined when no response came (refused, timeout, reset). */
  status?: number;
  headers?: IncomingHttpHeaders;
  /** The start of the response body (at most MAX_RESPONSE_BYTES). */
  body?: string;
  /** Network failure or timeout. */
  error?: string;
  latencyMs: number;
}

/**
 * Sends webhook requests to one endpoint over kept-alive HTTP/1.1 connections: no redirects followed,
 * private addresses refused after DNS resolution (unless allowed), a hard timeout over the whole
 * exchange (connect, send, response, body), response bodies read up to a small limit.
 *
 * Written on `net`/`tls` rather than `node:http`: a request is one serialised head and one write, a
 * response goes through a small parser (http1.response.ts), so a delivery costs a quarter of the CPU
 * of Node's client (its per-request objects, streams and events); see docs/benchmarks.md.
 */
export class WebhookHttpClient {
  readonly url: URL;
  private readonly lookup?: LookupFunction;
  private readonly https: boolean;
  /** The request line and the headers every request carries (host, connection, the fixed ones), serialised once. */
  private readonly preamble: string;
  /** Why the fixed headers cannot be sent (every post fails with it), if they cannot. */
  private readonly invalidHeaders?: string;
  private readonly fixedAuthorization: boolean;
  private readonly idle: { connection: Http1Connection; timer: NodeJS.Timeout }[] = [];
  private readonly open = new Set<Http1Connection>();
  private tlsSession?: Buffer;

  constructor(
    url: string,
    private readonly allowPrivate: boolean,
    /** Headers of every request (a subscription's own, content type, user agent), checked and serialised once. */
    fixedHeaders: Record<string, string> = {},
  ) {
    this.url = new URL(url);
    this.lookup = guardedLookup(allowPrivate);
    this.https = this.url.protocol === 'https:';
    let preamble = `POST ${this.url.pathname}${this.url.search} HTTP/1.1\r\nhost: ${this.url.host}\r\nconnection: keep-alive\r\n`;
    let authorization = false;
    try {
      const fixed = headerLines(fixedHeaders);
      preamble += fixed.text;
      authorization = fixed.authorization;
    } catch (error) {
      this.invalidHeaders = (error as Error).message;
    }
    this.preamble = preamble;
    this.fixedAuthorization = authorization;
  }

  /** Posts `body` (a string goes out as UTF-8); never rejects: a failure is an outcome without a status. */
  async post(headers: Record<string, string>, body: Buffer | string, timeoutMs: number): Promise<HttpOutcome> {
    const started = performance.now();
    let request: Buffer;
    try {
      checkLiteralHost(this.url, this.allowPrivate);
      if (this.invalidHeaders) throw new Error(this.invalidHeaders);
      request = this.request(headers, body);
    } catch (error) {
      return { error: (error as Error).message, latencyMs: Math.round(performance.now() - started) };
    }
    const first = await this.exchange(request, started, timeoutMs, false);
    // A kept-alive connection the server had just closed: the request never reached it; once more, on a new one.
    if (first.staleConnection) return this.exchange(request, started, timeoutMs, true);
    return first;
  }

  close(): void {
    for (const connection of [...this.open]) connection.shutdown('the client was closed');
  }

  /** The whole request, head and body, in one buffer (one write, one copy of the body). */
  private request(headers: Record<string, string>, body: Buffer | string): Buffer {
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    const lines = headerLines(headers);
    let head = this.preamble + lines.text;
    if (!this.fixedAuthorization && !lines.authorization && (this.url.username || this.url.password)) {
      // As Node's client does for user info in the URL: basic authentication.
      const credentials = `${decodeURIComponent(this.url.username)}:${decodeURIComponent(this.url.password)}`;
      head += `authorization: Basic ${Buffer.from(credentials).toString('base64')}\r\n`;
    }
    head += `content-length: ${length}\r\n\r\n`;
    const request = Buffer.allocUnsafe(head.length + length);
    const at = request.write(head, 0, 'latin1');
    if (typeof body === 'string') request.write(body, at, 'utf8');
    else request.set(body, at);
    return request;
  }

  private exchange(
    request: Buffer,
    started: number,
    timeoutMs: number,
    fresh: boolean,
  ): Promise<HttpOutcome & { staleConnection?: boolean }> {
    const connection = (!fresh && this.takeIdle()) || this.connect();
    const reused = connection.completed > 0;
    const elapsed = (): number => Math.round(performance.now() - started);
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          connection.destroy();
          resolve({ error: `timed out after ${timeoutMs} ms`, latencyMs: elapsed() });
        },
        Math.max(1, started + timeoutMs - performance.now()),
      );
      connection.exchange(request, (result: ExchangeResult) => {
        clearTimeout(timer);
        const { response, error } = result;
        if (response) {
          if (!connection.closed) this.release(connection);
          resolve({ status: response.status, headers: response.headers, body: response.body, latencyMs: elapsed() });
          return;
        }
        const stale = reused && !result.started && (error?.code === 'ECONNRESET' || error?.code === 'EPIPE');
        resolve({ error: describe(error as NodeJS.ErrnoException), staleConnection: stale, latencyMs: elapsed() });
      });
    });
  }

  /** The connection used last (LIFO: the others may time out and be closed), if one is idle. */
  private takeIdle(): Http1Connection | undefined {
    for (let entry = this.idle.pop(); entry; entry = this.idle.pop()) {
      clearTimeout(entry.timer);
      if (!entry.connection.closed) return entry.connection;
    }
    return undefined;
  }

  private release(connection: Http1Connection): void {
    if (this.idle.length >= MAX_IDLE_CONNECTIONS) return connection.destroy();
    const timer = setTimeout(() => connection.destroy(), IDLE_TIMEOUT_MS);
    timer.unref();
    this.idle.push({ connection, timer });
  }

  private connect(): Http1Connection {
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(this.url.port) || (this.https ? 443 : 80);
    let socket: Socket;
    if (this.https) {
      const tls = tlsConnect({
        host,
        port,
        lookup: this.lookup,
        servername: isIP(host) ? undefined : host,
        ALPNProtocols: ['http/1.1'],
        session: this.tlsSession,
      });
      tls.on('session', (session: Buffer) => (this.tlsSession = session));
      socket = tls;
    } else {
      socket = netConnect({ host, port, lookup: this.lookup });
    }
    socket.setNoDelay(true);
    const connection = new Http1Connection(socket, MAX_RESPONSE_BYTES, (gone) => this.forget(gone));
    this.open.add(connection);
    return connection;
  }

  private forget(connection: Http1Connection): void {
    this.open.delete(connection);
    const at = this.idle.findIndex((entry) => entry.connection === connection);
    if (at >= 0) clearTimeout(this.idle.splice(at, 1)[0].timer);
  }
}

/** `name: value` lines, each checked as Node's own client checks them (no header injection). */
function headerLines(headers: Record<string, string>): { text: string; authorization: boolean } {
  let text = '';
  let authorization = false;
  for (const name in headers) {
    const value = headers[name];
    if (!HEADER_NAME.test(name)) throw new Error(`invalid header name ${JSON.stringify(name)}`);
    if (INVALID_HEADER_VALUE.test(value)) throw new Error(`invalid character in header content ["${name}"]`);
    if (name.length === 13 && name.toLowerCase() === 'authorization') authorization = true;
    text += `${name}: ${value}\r\n`;
  }
  return { text, authorization };
}

function describe(error: NodeJS.ErrnoException): string {
  if (error.code === 'EWEBHOOKREFUSED') return error.message;
  return error.code && !error.message.includes(error.code) ? `${error.code}: ${error.message}` : error.message;
}
