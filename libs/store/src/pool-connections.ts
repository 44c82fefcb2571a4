import type { Pool, PoolClient } from 'pg';

/**
 * The connections of a pg Pool, so that ending it can wait until the last one is closed. pg-pool's own
 * `end()` resolves as soon as it has told its idle clients to end, before their backends have read the
 * Terminate and gone: a server stopped right then (the embedded Postgres, next in the shutdown)
 * terminates those backends first, and each such client reports "terminating connection due to
 * administrator command" as an error. The pool emits `connect` for every client that connected and
 * `remove` once a client's connection is closed, so the connections still open are known exactly.
 */
export class PoolConnections {
  private readonly open = new Set<PoolClient>();
  /** Connected before watching started (TypeORM connects one while initialising): counted, not known. */
  private unknown: number;
  private allClosed?: () => void;

  /** Watch from when no connect is in flight: at creation, or right after a first connect finished. */
  constructor(private readonly pool: Pool) {
    this.unknown = pool.totalCount;
    pool.on('connect', (client) => this.open.add(client));
    pool.on('remove', (client) => {
      if (!this.open.delete(client) && this.unknown > 0) this.unknown--;
      if (this.closed()) this.allClosed?.();
    });
  }

  /** Ends the pool (with `end`, if its owner ends it) and resolves once every connection is closed. */
  async end(end: () => Promise<void> = () => this.pool.end()): Promise<void> {
    const closed = new Promise<void>((resolve) => (this.allClosed = resolve));
    await end();
    if (!this.closed()) await closed;
  }

  private closed(): boolean {
    return this.open.size === 0 && this.unknown === 0;
  }
}
