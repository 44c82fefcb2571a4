import { redactUrl } from '@tributary/config';
import Redis from 'ioredis';
import { STREAM_APPEND_LUA } from './stream-append';

/** The client with the append script registered as a command. */
export type StreamClient = Redis & {
  tributaryAppend(stream: string, ...args: (string | Buffer)[]): Promise<[number, number]>;
};

/** Redis could not be reached (or refused the credentials): the whole destination is out, not a message. */
export class RedisUnavailableError extends Error {
  readonly blockPartition = true;
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

/**
 * One ioredis client, reconnecting on its own (every 200 ms growing to 2 s). Commands are never queued
 * while it is down: a delivery fails at once with the last connection error, which the runtime shows
 * as the partition's status, and the next attempt finds the client reconnected.
 */
export class RedisConnection {
  private readonly client: StreamClient;
  private lastError = 'not connected yet';

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
    tls?: { ca?: string },
  ) {
    this.client = new Redis(url, {
      ...(tls?.ca ? { tls: { ca: tls.ca } } : {}),
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    }) as StreamClient;
    this.client.defineCommand('tributaryAppend', { numberOfKeys: 1, lua: STREAM_APPEND_LUA });
    // ioredis's messages name host and port, never the password; kept for the next delivery's error.
    this.client.on('error', (error: Error) => (this.lastError = error.message));
  }

  /** Where it connects, fit for statuses and logs. */
  get address(): string {
    return redactUrl(this.url);
  }

  /** The client once it is ready; a RedisUnavailableError when it is not, within the timeout. */
  async ready(signal?: AbortSignal): Promise<StreamClient> {
    const client = this.client;
    if (client.status === 'ready') return client;
    if (client.status === 'wait')
      client.connect().catch(() => undefined); // the error event keeps the cause
    else if (client.status === 'reconnecting') throw this.unavailable();
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        client.off('ready', onReady);
        client.off('close', onClose);
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => done();
      const onClose = () => done(this.unavailable());
      const onAbort = () => done(new Error('delivery aborted'));
      const timer = setTimeout(() => done(this.unavailable(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      client.once('ready', onReady);
      client.once('close', onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return client;
  }

  unavailable(cause = this.lastError): RedisUnavailableError {
    return new RedisUnavailableError(`redis at ${this.address} is unavailable: ${cause}`);
  }

  async close(): Promise<void> {
    if (this.client.status === 'ready') await this.client.quit().catch(() => undefined);
    this.client.disconnect();
  }
}
