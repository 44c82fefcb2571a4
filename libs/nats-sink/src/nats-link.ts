import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { connect, type NatsConnection } from './nats-client';
import { redactUrl, type NatsSinkConfig } from '@tributary/config';
import { describeFailure } from './nats-failures';
import { ensureStream } from './stream-setup';

/** A connection whose stream has been created or checked. */
export interface ReadyLink {
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/**
 * The connection of one sink (one group member): opened on first use, its stream created or checked
 * then, and both again after a failure (a stream deleted meanwhile is created again). Once connected the
 * client reconnects by itself (to any node of a cluster it learnt of) and publishes wait for it.
 */
export class NatsLink {
  private connection?: NatsConnection;
  private opening?: Promise<ReadyLink>;
  private closed = false;

  constructor(
    private readonly config: NatsSinkConfig,
    private readonly group: string,
    private readonly streamSubjects: string[],
  ) {}

  /** The ready connection; rejects with a NatsSinkError saying what is wrong. */
  ready(): Promise<ReadyLink> {
    if (this.closed) return Promise.reject(new Error('the NATS sink is closed'));
    this.opening ??= this.open().catch((error: unknown) => {
      this.opening = undefined;
      throw error;
    });
    return this.opening;
  }

  /** After a failure that may mean the stream is gone: the next `ready` checks it again. */
  recheck(): void {
    this.opening = undefined; // the connection is kept; only the stream is looked at again
  }

  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    await connection?.close().catch(() => undefined);
  }

  private async open(): Promise<ReadyLink> {
    let connection = this.connection;
    if (!connection || connection.isClosed()) {
      try {
        connection = await connect(connectOptions(this.config, this.group));
      } catch (error) {
        throw describeFailure(error, `connecting to ${redactUrl(this.config.url)}`);
      }
      if (this.closed) {
        await connection.close();
        throw new Error('the NATS sink is closed');
      }
      this.connection = connection;
    }
    try {
      const jsm = await jetstreamManager(connection, { timeout: this.config.publishTimeoutMs });
      await ensureStream(jsm, this.config, this.streamSubjects);
      return { js: jetstream(connection, { timeout: this.config.publishTimeoutMs }), jsm };
    } catch (error) {
      throw describeFailure(error, `setting up stream "${this.config.stream}" on ${redactUrl(this.config.url)}`);
    }
  }
}

/** The client's options from the sink's URL: server, user and password or token, TLS. */
export function connectOptions(config: NatsSinkConfig, group: string): NodeConnectionOptions {
  const url = new URL(config.url);
  const token = url.searchParams.get('token');
  const tls = url.protocol === 'tls:' || url.searchParams.get('tls') === 'true';
  return {
    servers: [`${url.hostname}:${url.port || '4222'}`],
    user: url.username ? decodeURIComponent(url.username) : undefined,
    pass: url.password ? decodeURIComponent(url.password) : undefined,
    token: token ?? undefined,
    tls: tls ? {} : undefined,
    name: `tributary group ${group}`,
    timeout: config.connectTimeoutMs,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // A wrong password stays wrong: the attempt fails and the partition shows why.
    ignoreAuthErrorAbort: false,
  };
}
