import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { MESSAGES_CHANNEL } from '@tributary/topic-log';

/**
 * Wakes consumers when messages are appended (LISTEN on the channel the topic log notifies), with
 * polling as the fallback: wait() always returns by its timeout, and a lost connection is reopened.
 */
export class MessageNotifier {
  private readonly logger = new Logger('MessageNotifier');
  private client?: Client;
  private waiters: (() => void)[] = [];
  private closed = false;
  private reconnectTimer?: NodeJS.Timeout;
  private notifications = 0;

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

  /**
   * Resolves on the next append notification, or after `timeoutMs`. With `since` (a sequence read before
   * the caller found nothing to do), a notification that came in meanwhile ends the wait at once.
   */
  wait(timeoutMs: number, since?: number): Promise<void> {
    if (since !== undefined && this.notifications > since) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const waiters = this.waiters;
      function done(): void {
        clearTimeout(timer);
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  wakeAll(): void {
    for (const w of [...this.waiters]) w();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.wakeAll();
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.url, application_name: 'tributary-notifier' });
    client.on('notification', () => {
      this.notifications++;
      this.wakeAll();
    });
    client.on('error', (e) => {
      this.logger.warn(`LISTEN connection lost: ${e.message}`);
      this.client = undefined;
      void client.end().catch(() => undefined);
      this.scheduleReconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${MESSAGES_CHANNEL}`);
    this.client = client;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.closed) this.connect().catch(() => this.scheduleReconnect());
    }, 2_000);
  }
}
