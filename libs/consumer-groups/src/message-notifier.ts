import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { MESSAGES_CHANNEL } from '@tributary/topic-log';
import { GroupRepository } from './group.repository';

/** A partition's reader: it has read everything before `position`. */
export interface ReadPosition {
  partition: number;
  position: bigint;
}

interface Waiter {
  /** Only appends to this topic end the wait (undefined: any append). */
  topic?: string;
  /** Only appends to this partition at or after this position end the wait. */
  at?: ReadPosition;
  done(): void;
}

/**
 * Wakes consumers when messages are appended (LISTEN on the channel the topic log notifies, whose payload
 * is the topic name), with polling as the fallback: wait() always returns by its timeout, and a lost
 * connection is reopened. After a topic's notification the notifier reads the topic's partition ends
 * (one query, however many readers wait) and wakes only the readers of partitions that grew: a single-row
 * append wakes one partition's reader per group, not every reader of the topic.
 */
export class MessageNotifier {
  private readonly logger = new Logger('MessageNotifier');
  private client?: Client;
  private waiters = new Set<Waiter>();
  private closed = false;
  private reconnectTimer?: NodeJS.Timeout;
  private notifications = 0;
  /** Per topic: how often its ends were read (or, when they cannot be, its notifications). */
  private readonly perTopic = new Map<string, number>();
  private readonly ends = new Map<string, Map<number, bigint>>();
  /** Topics whose ends are being read (true: read them again when done, another append came in). */
  private readonly reading = new Map<string, boolean>();

  constructor(private readonly url: string) {}

  async start(): Promise<void> {
    await this.connect().catch((e: Error) => {
      this.logger.warn(`LISTEN unavailable (${e.message}); polling until it is back`);
      this.scheduleReconnect();
    });
  }

  /** LISTEN is on: every append is announced (on a reconnect, every waiter is woken once). */
  get listening(): boolean {
    return this.client !== undefined;
  }

  /** Counts append notifications: read it before looking for messages, and pass it to wait(). */
  get sequence(): number {
    return this.notifications;
  }

  /** Counts what was learnt of one topic's appends (see `sequence`): read it before fetching, pass it to wait(). */
  topicSequence(topic: string): number {
    return this.perTopic.get(topic) ?? 0;
  }

  /**
   * Resolves on the next append notification, or after `timeoutMs`. With `since` (a sequence read before
   * the caller found nothing to do), a notification that came in meanwhile ends the wait at once. With
   * `topic`, only that topic's appends count (and `since` is its topicSequence); with `at` too, only
   * appends to that partition past the reader's position. An abort of `signal` ends the wait as well.
   */
  wait(timeoutMs: number, since?: number, topic?: string, signal?: AbortSignal, at?: ReadPosition): Promise<void> {
    const seen = topic === undefined ? this.notifications : this.topicSequence(topic);
    const missed = since !== undefined && seen > since && (topic === undefined || this.grew(topic, at));
    if (missed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const waiters = this.waiters;
      const waiter: Waiter = { topic, at, done };
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

  /** Whether the partition's known end is past the reader (unknown counts as grown). */
  private grew(topic: string, at: ReadPosition | undefined): boolean {
    const end = at && this.ends.get(topic)?.get(at.partition);
    return end === undefined || end === null || end > (at as ReadPosition).position;
  }

  private notified(topic: string | undefined): void {
    this.notifications++;
    for (const w of [...this.waiters]) if (w.topic === undefined) w.done();
    if (!topic) {
      // A notification without a payload (another writer) may be for any topic.
      for (const w of [...this.waiters]) w.done();
      return;
    }
    if (this.reading.has(topic)) {
      this.reading.set(topic, true); // what is being read may predate this append: read again
    } else if (![...this.waiters].some((w) => w.topic === topic)) {
      // Nobody waits on it now: no query. A reader about to wait finds its ends unknown, so it looks.
      this.ends.delete(topic);
      this.perTopic.set(topic, this.topicSequence(topic) + 1);
    } else {
      void this.readEnds(topic);
    }
  }

  /** Reads a topic's partition ends and wakes the readers of the partitions that grew. */
  private async readEnds(topic: string): Promise<void> {
    this.reading.set(topic, false);
    try {
      const client = this.client;
      if (!client) throw new Error('not connected');
      this.ends.set(topic, await GroupRepository.partitionEnds(client, topic));
    } catch {
      this.ends.delete(topic); // unknown ends: every reader of the topic looks
    }
    this.perTopic.set(topic, this.topicSequence(topic) + 1);
    for (const w of [...this.waiters]) if (w.topic === topic && this.grew(topic, w.at)) w.done();
    const again = this.reading.get(topic);
    this.reading.delete(topic);
    if (again && !this.closed) void this.readEnds(topic);
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.url, application_name: 'tributary-notifier' });
    client.on('notification', (n) => this.notified(n.payload));
    client.on('error', (e) => {
      this.logger.warn(`LISTEN connection lost: ${e.message}`);
      if (this.client === client) this.client = undefined;
      this.ends.clear();
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
