import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { checkLiteralHost, guardedLookup } from './address.guard';

/** Response bodies are read up to this many bytes (for the attempt log), the rest is dropped. */
export const MAX_RESPONSE_BYTES = 4_096;

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
 * Sends webhook requests to one endpoint over kept-alive connections: no redirects followed, private
 * addresses refused after DNS resolution (unless allowed), a hard timeout over the whole exchange
 * (connect, send, response, body), response bodies read up to a small limit.
 */
export class WebhookHttpClient {
  readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly lookup?: LookupFunction;
  private readonly send: typeof httpRequest;

  constructor(
    url: string,
    private readonly allowPrivate: boolean,
  ) {
    this.url = new URL(url);
    this.lookup = guardedLookup(allowPrivate);
    const https = this.url.protocol === 'https:';
    this.send = https ? httpsRequest : httpRequest;
    // Idle connections are dropped after 4 s, before a server's usual 5 s keep-alive timeout closes them.
    const options = { keepAlive: true, maxFreeSockets: 16, scheduling: 'lifo' as const, timeout: 4_000 };
    this.agent = https ? new HttpsAgent(options) : new HttpAgent(options);
  }

  async post(headers: Record<string, string>, body: Buffer, timeoutMs: number): Promise<HttpOutcome> {
    const started = performance.now();
    try {
      checkLiteralHost(this.url, this.allowPrivate);
    } catch (error) {
      return { error: (error as Error).message, latencyMs: Math.round(performance.now() - started) };
    }
    const first = await this.exchange(headers, body, timeoutMs, started, timeoutMs);
    // A kept-alive connection the server had just closed: the request never reached it; once more, on a new one.
    if (first.staleConnection) return this.exchange(headers, body, Math.max(1, timeoutMs - first.latencyMs), started, timeoutMs);
    return first;
  }

  private exchange(
    headers: Record<string, string>,
    body: Buffer,
    timeoutMs: number,
    started: number,
    total: number,
  ): Promise<HttpOutcome & { staleConnection?: boolean }> {
    const elapsed = (): number => Math.round(performance.now() - started);
    return new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: Omit<HttpOutcome, 'latencyMs'> & { staleConnection?: boolean }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...outcome, latencyMs: elapsed() });
      };
      const req = this.send(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          lookup: this.lookup,
          headers: { ...headers, 'content-length': String(body.length) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const done = (): void =>
            finish({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
          res.on('data', (chunk: Buffer) => {
            if (size < MAX_RESPONSE_BYTES) chunks.push(chunk.subarray(0, MAX_RESPONSE_BYTES - size));
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              done();
              res.destroy(); // not worth reading on; the connection is dropped
            }
          });
          res.on('end', done);
          res.on('error', done);
          res.on('close', done);
        },
      );
      const timer = setTimeout(() => {
        finish({ error: `timed out after ${total} ms` });
        req.destroy();
      }, timeoutMs);
      req.on('error', (error: NodeJS.ErrnoException) =>
        finish({
          error: describe(error),
          staleConnection: req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE'),
        }),
      );
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function describe(error: NodeJS.ErrnoException): string {
  if (error.code === 'EWEBHOOKREFUSED') return error.message;
  return error.code && !error.message.includes(error.code) ? `${error.code}: ${error.message}` : error.message;
}
