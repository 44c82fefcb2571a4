import type { TargetDialect } from './target-dialect';
import { IncompatibleTargetError, unlessAborted } from './target-dialect';

/**
 * A database sink's target sessions: each call gets one of its own (deliver calls on different
 * partitions run at once, each in its own target transaction), and up to `keepIdle` stay open between
 * calls. A session whose call failed for any reason but IncompatibleTargetError (a timeout, a lost
 * connection, an abort) may be in any state: it is closed, which rolls its transaction back.
 */
export class TargetPool {
  private readonly idle: TargetDialect[] = [];
  private readonly open = new Set<TargetDialect>();
  private closing = false;

  constructor(
    /** Opens a session; an abort of `signal` must end the attempt at once. */
    private readonly connect: (signal?: AbortSignal) => Promise<TargetDialect>,
    private readonly keepIdle: number,
    /** Called when a session is closed after a failure: what was learnt about the target may be stale. */
    private readonly onDiscard: () => void,
  ) {}

  /**
   * Runs `work` on a session of its own. An abort of `signal` destroys the session: a target that hangs
   * (a lock held on a table, a server that never answers) never holds up a stop.
   */
  async use<T>(signal: AbortSignal | undefined, work: (db: TargetDialect) => Promise<T>): Promise<T> {
    const db = await this.acquire(signal);
    let healthy = false;
    try {
      const result = await unlessAborted(
        signal,
        () => db.destroy(),
        () => work(db),
      );
      healthy = true;
      return result;
    } catch (error) {
      healthy = error instanceof IncompatibleTargetError && !signal?.aborted;
      throw error;
    } finally {
      if (healthy) await this.release(db);
      else await this.discard(db);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    const sessions = [...this.open];
    this.open.clear();
    this.idle.length = 0;
    await Promise.all(sessions.map((db) => db.close()));
    this.closing = false;
  }

  private async acquire(signal?: AbortSignal): Promise<TargetDialect> {
    const reused = this.idle.pop();
    if (reused) return reused;
    const db = await this.connect(signal);
    this.open.add(db);
    try {
      // The offsets table, once per session: a target re-created meanwhile gets it again.
      await unlessAborted(
        signal,
        () => db.destroy(),
        () => db.prepare(),
      );
    } catch (error) {
      await this.discard(db);
      throw error;
    }
    return db;
  }

  private async release(db: TargetDialect): Promise<void> {
    if (!this.open.has(db)) return; // closed meanwhile
    if (!this.closing && this.idle.length < this.keepIdle) this.idle.push(db);
    else {
      this.open.delete(db);
      await db.close();
    }
  }

  private async discard(db: TargetDialect): Promise<void> {
    this.onDiscard();
    if (!this.open.delete(db)) return;
    await db.close();
  }
}
