/** One server-sent event. */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * An event stream read the way the console reads it: fetch (so it can send the token) and the body's
 * ReadableStream, parsed into events. `next` waits for the first matching event not yet taken.
 */
export class SseClient {
  private readonly events: SseEvent[] = [];
  private readonly waiters = new Set<() => void>();
  private ended = false;

  private constructor(
    readonly status: number,
    readonly headers: Headers,
    private readonly abort: AbortController,
    readonly comments: string[],
  ) {}

  static async open(url: string, token?: string): Promise<SseClient> {
    const abort = new AbortController();
    const res = await fetch(url, {
      headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      signal: abort.signal,
    });
    const client = new SseClient(res.status, res.headers, abort, []);
    if (res.ok && res.body) void client.read(res.body);
    else abort.abort();
    return client;
  }

  /** The first event named `event` (matching `accept`) that arrives, or came in and was not taken yet. */
  async next(event: string, accept: (data: string) => boolean = () => true, timeoutMs = 60_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex((e) => e.event === event && accept(e.data));
      if (i >= 0) return this.events.splice(i, 1)[0];
      if (this.ended) throw new Error(`the stream ended before an "${event}" event`);
      if (Date.now() > deadline) throw new Error(`no "${event}" event within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
        const waiters = this.waiters;
        function done(): void {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
  }

  /** Whether the server ended the stream (reading stopped without our close). */
  get serverEnded(): boolean {
    return this.ended && !this.abort.signal.aborted;
  }

  close(): void {
    this.abort.abort();
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          this.parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      // aborted by close(), or the connection dropped: either way the stream is over
    }
    this.ended = true;
    this.wake();
  }

  private parse(block: string): void {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length) {
      this.events.push({ event, data: data.join('\n') });
      this.wake();
    }
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
