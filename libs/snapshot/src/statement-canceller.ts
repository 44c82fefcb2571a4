import type { Client } from 'pg';
import type { SourceConfig } from '@tributary/config';
import { connectSource } from '@tributary/pg-source';

/**
 * Cancels what the snapshot connection runs on the source once it is no longer wanted (the backfill was
 * cancelled, the capture stops): `pg_cancel_backend` of its backend from a second connection, as psql's
 * Ctrl-C does. Ending the client alone would not do: a backend waiting for a lock or reading a table
 * does not look at its socket, and keeps its snapshot (and the xmin horizon) until the statement ends.
 */
export class StatementCanceller {
  /** A cancel was sent for the statement now running: its `query_canceled` error is ours, not a timeout. */
  cancelled = false;
  private running = false;

  private constructor(
    private readonly source: SourceConfig,
    private readonly pid: number,
  ) {}

  static async of(client: Client, source: SourceConfig): Promise<StatementCanceller> {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return new StatementCanceller(source, rows[0].pid);
  }

  /**
   * Runs `work` (statements on the watched connection), asking `wanted` every `everyMs` whether it still
   * is; when not, the running statement is cancelled and `work` fails with `query_canceled`.
   */
  async run<T>(work: () => Promise<T>, wanted: () => Promise<boolean>, everyMs: number): Promise<T> {
    this.running = true;
    this.cancelled = false;
    let polling = false;
    const timer = setInterval(() => {
      if (polling || this.cancelled) return;
      polling = true;
      wanted()
        .then((yes) => (yes ? undefined : this.cancel()))
        // A failed poll (the platform is away) leaves the statement running; the next poll asks again.
        .catch(() => undefined)
        .finally(() => (polling = false));
    }, everyMs);
    try {
      return await work();
    } finally {
      this.running = false;
      clearInterval(timer);
    }
  }

  /** Cancels the statement running now, if any. */
  async cancel(): Promise<void> {
    if (!this.running || this.cancelled) return;
    this.cancelled = true;
    const client = await connectSource(this.source, `tributary-snapshot-cancel:${this.source.name}`);
    try {
      await client.query('SELECT pg_cancel_backend($1)', [this.pid]);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** `query_canceled`: a cancel, or statement_timeout. */
export function isQueryCanceled(error: unknown): boolean {
  return (error as { code?: unknown })?.code === '57014';
}
