import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Pool, type Dispatcher } from 'undici';
import { checkLiteralHost, guardedLookup } from './address.guard';

/** Response bodies are read up to this many bytes (for the attempt log), the rest is dropped. */
export const MAX_RESPONSE_BYTES = 4_096;
/** Idle connections are dropped after 4 s, before a server's usual 5 s keep-alive timeout closes them. */
const IDLE_TIMEOUT_MS = 4_000;
/** Connecting (DNS, TCP, TLS) gives up after this; a request's own timeout is usually shorter. */
const CONNECT_TIMEOUT_MS = 10_000;
/** undici's own timeouts (connect, headers, body): the same failure as the exchange's own timer. */
const UNDICI_TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
/** undici's texts for a connection closed by the other side (its other socket errors keep their own text). */
const HANG_UPS = new Set(['other side closed', 'closed']);
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** What Node's own client refuses in a header value (checked here so the error texts stay Node's). */
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

type Exchange = HttpOutcome & { staleConnection?: boolean };

/**
 * Sends webhook requests to one endpoint over kept-alive HTTP/1.1 connections (an undici `Pool`): no
 * redirects followed, private addresses refused after DNS resolution (unless allowed), a hard timeout
 * over the whole exchange (connect, send, response, body), response bodies read up to a small limit.
 */
export class WebhookHttpClient {
  readonly url: URL;
  private readonly pool: Pool;
  private readonly path: string;
  /** Basic authentication from the URL's user info, as Node's client sends it (unless one is given). */
  private readonly authorization?: string;
  /** The headers of every request, checked once; undefined with `invalidHeaders` when they cannot be sent. */
  private readonly fixed?: Record<string, string>;
  private readonly invalidHeaders?: string;

  constructor(
    url: string,
    private readonly allowPrivate: boolean,
    /** Headers of every request (a subscription's own, content type, user agent), checked and serialised once. */
    fixedHeaders: Record<string, string> = {},
  ) {
    this.url = new URL(url);
    this.path = `${this.url.pathname}${this.url.search}`;
    if (this.url.username || this.url.password) {
      const credentials = `${decodeURIComponent(this.url.username)}:${decodeURIComponent(this.url.password)}`;
      this.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
    }
    try {
      this.fixed = this.headers(fixedHeaders);
    } catch (error) {
      this.invalidHeaders = (error as Error).message; // every post fails with it
    }
    this.pool = new Pool(this.url.origin, {
      // The guard resolves the name on the very connection made (net/tls `lookup`): no DNS-rebinding window.
      connect: { lookup: guardedLookup(allowPrivate), timeout: CONNECT_TIMEOUT_MS },
      keepAliveTimeout: IDLE_TIMEOUT_MS,
      keepAliveMaxTimeout: IDLE_TIMEOUT_MS, // a server's `Keep-Alive: timeout=` never keeps one longer
    }); // undici follows no redirects unless its redirect interceptor is composed in
  }

  /**
   * The request path for a message's route (ConsumedMessage.route), appended to the URL's path: each
   * segment percent-encoded and `.`/`..` left out, so a route can only go below the configured path,
   * never to another origin or above it; the URL's query stays.
   */
  pathFor(route: string | undefined): string {
    if (route === undefined) return this.path;
    const segments = route.split('/').filter((s) => s !== '' && s !== '.' && s !== '..');
    const base = this.url.pathname.replace(/\/+$/, '');
    return `${base}/${segments.map(encodeURIComponent).join('/')}${this.url.search}`;
  }

  /** Posts `body` (a string goes out as UTF-8); never rejects: a failure is an outcome without a status. */
  async post(headers: Record<string, string>, body: Buffer | string, timeoutMs: number, route?: string): Promise<HttpOutcome> {
    const started = performance.now();
    let sent: Record<string, string>;
    try {
      checkLiteralHost(this.url, this.allowPrivate);
      if (this.invalidHeaders) throw new Error(this.invalidHeaders);
      sent = { ...this.fixed, ...this.headers(headers, false) };
    } catch (error) {
      return { error: (error as Error).message, latencyMs: Math.round(performance.now() - started) };
    }
    const path = this.pathFor(route);
    const first = await this.exchange(sent, body, started, timeoutMs, path);
    // A kept-alive connection the server had just closed: the request never reached it; once more, on a new one.
    if (first.staleConnection) return this.exchange(sent, body, started, timeoutMs, path);
    return first;
  }

  close(): void {
    this.pool.destroy(Object.assign(new Error('the client was closed'), { code: 'ECONNRESET' })).catch(() => undefined);
  }

  /** Validated as Node's client does (same error texts), plus basic authentication from the URL. */
  private headers(headers: Record<string, string>, withAuthorization = true): Record<string, string> {
    let authorization = !withAuthorization;
    for (const name in headers) {
      if (!HEADER_NAME.test(name)) throw new Error(`invalid header name ${JSON.stringify(name)}`);
      if (INVALID_HEADER_VALUE.test(headers[name])) throw new Error(`invalid character in header content ["${name}"]`);
      if (name.length === 13 && name.toLowerCase() === 'authorization') authorization = true;
    }
    return this.authorization && !authorization ? { ...headers, authorization: this.authorization } : headers;
  }

  private exchange(
    headers: Record<string, string>,
    body: Buffer | string,
    started: number,
    timeoutMs: number,
    path: string,
  ): Promise<Exchange> {
    const left = Math.max(1, Math.round(started + timeoutMs - performance.now()));
    return new Promise((resolve) => {
      const handler = new ResponseCollector(started, timeoutMs, left, resolve);
      this.pool.dispatch({ method: 'POST', path, headers, body, headersTimeout: left, bodyTimeout: left }, handler);
    });
  }
}

/**
 * One exchange's handler (undici's dispatch API, no body stream): keeps the start of the body, stops
 * reading past MAX_RESPONSE_BYTES (the connection is dropped, it is not worth reading on), and gives up
 * when the whole exchange's time is up. Settles exactly once.
 */
class ResponseCollector implements Dispatcher.DispatchHandler {
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private chunks: Buffer[] = [];
  private bytes = 0;
  private done = false;
  private controller?: Dispatcher.DispatchController;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly started: number,
    private readonly timeoutMs: number,
    left: number,
    private readonly resolve: (exchange: Exchange) => void,
  ) {
    this.timer = setTimeout(() => {
      this.settle({ error: `timed out after ${timeoutMs} ms` });
      this.controller?.abort(new Error(`timed out after ${timeoutMs} ms`));
    }, left);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.done) controller.abort(new Error('timed out')); // still queued when time was up: never sent
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    this.status = status;
    this.headers = joinRepeated(headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const room = MAX_RESPONSE_BYTES - this.bytes;
    if (room > 0) this.chunks.push(room < chunk.length ? chunk.subarray(0, room) : chunk);
    this.bytes += chunk.length;
    if (this.bytes > MAX_RESPONSE_BYTES) {
      this.respond();
      controller.abort(new Error('response body over the limit'));
    }
  }

  onResponseEnd(): void {
    this.respond();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    const failure = error as NodeJS.ErrnoException & { socket?: { bytesRead?: number } };
    // Nothing of a response came, on a connection that had carried responses before: it was stale.
    const stale =
      this.status === 0 &&
      (failure.code === 'UND_ERR_SOCKET' || failure.code === 'ECONNRESET' || failure.code === 'EPIPE') &&
      (failure.socket?.bytesRead ?? 0) > 0;
    const timedOut = failure.code !== undefined && UNDICI_TIMEOUTS.has(failure.code);
    this.settle({ error: timedOut ? `timed out after ${this.timeoutMs} ms` : describe(failure), staleConnection: stale });
  }

  private respond(): void {
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.settle({ status: this.status, headers: this.headers, body: body.toString('utf8') });
  }

  private settle(outcome: Omit<Exchange, 'latencyMs'>): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.chunks = [];
    this.resolve({ ...outcome, latencyMs: Math.round(performance.now() - this.started) });
  }
}

/** Repeated response headers joined with ", " (set-cookie stays a list), as Node's `IncomingMessage` has them. */
function joinRepeated(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  for (const name in headers) {
    const value = headers[name];
    if (Array.isArray(value) && name !== 'set-cookie') headers[name] = value.join(', ');
  }
  return headers;
}

function describe(error: NodeJS.ErrnoException): string {
  if (error.code === 'EWEBHOOKREFUSED') return error.message;
  // The connection closed before a response: the words Node's client (and the attempt log before it) used.
  if (error.code === 'UND_ERR_SOCKET' && HANG_UPS.has(error.message)) return 'ECONNRESET: socket hang up';
  return error.code && !error.message.includes(error.code) ? `${error.code}: ${error.message}` : error.message;
}
