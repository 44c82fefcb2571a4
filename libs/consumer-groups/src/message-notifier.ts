import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { MESSAGES_CHANNEL } from '@tributary/topic-log';

interface Waiter {
  /** Only appends to this topic end the wait (undefined: any append). */
  topic?: string;
  done(): void;
}

/**
 * Wakes consumers when messages are appended (LISTEN on the channel the topic log notifies, whose payload
 * is the topic name), with polling as the fallback: wait() always returns by its timeout, and a lost
 * connection is reopened.
 */
export class MessageNotifier {
  private readonly logger = new Logger('MessageNotifier');
  private client?: Client;
  private waiters = new Set<Waiter>();
  private closed = false;
  private reconnectTimer?: NodeJS.Timeout;
  private notifications = 0;
  private readonly perTopic = new Map<string, number>();

  constructor(private readonly url: string) {}

  async start(): Promise<void> {
    await this.connect().catch((e: Error) => {
      this.logger.warn(`LISTEN unavailable (${e.message}); polling until it is back`);
      this.scheduleReconnect();
    });
  }

  /** Counts append notifications: read it before looking for messages, and pass it to wait(). */
  get sequence(): number {
    return this.notifications;
  }

  /** Counts the append notifications of one topic (see `sequence`). */
  topicSequence(topic: string): number {
    return this.perTopic.get(topic) ?? 0;
  }

  /**
   * Resolves on the next append notification, or after `timeoutMs`. With `since` (a sequence read before
   * the caller found nothing to do), a notification that came in meanwhile ends the wait at once. With
   * `topic`, only that topic's appends count (and `since` is its topicSequence); an abort of `signal`
   * ends the wait too.
   */
  wait(timeoutMs: number, since?: number, topic?: string, signal?: AbortSignal): Promise<void> {
    const seen = topic === undefined ? this.notifications : this.topicSequence(topic);
    if ((since !== undefined && seen > since) || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const waiters = this.waiters;
      const waiter: Waiter = { topic, done };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        waiters.delete(waiter);
        resolve();
      }
      waiters.add(waiter);
    });
  }

  wakeAll(): void {
    for (const w of [...this.waiters]) w.done();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.wakeAll();
    await this.client?.end().catch(() => undefined);
  }

  private notified(topic: string | undefined): void {
    this.notifications++;
    if (topic) this.perTopic.set(topic, this.topicSequence(topic) + 1);
    for (const w of [...this.waiters]) {
      // A notification without a payload (another writer) may be for any topic.
      if (w.topic === undefined || !topic || w.topic === topic) w.done();
    }
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.url, application_name: 'tributary-notifier' });
    client.on('notification', (n) => this.notified(n.payload));
    client.on('error', (e) => {
      this.logger.warn(`LISTEN connection lost: ${e.message}`);
      this.client = undefined;
      void client.end().catch(() => undefined);
      this.scheduleReconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${MESSAGES_CHANNEL}`);
    this.client = client;
    this.wakeAll(); // appends while nobody listened were not announced: everyone looks again
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.closed) this.connect().catch(() => this.scheduleReconnect());
    }, 2_000);
  }
}
