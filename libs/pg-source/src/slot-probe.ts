import { Client } from 'pg';

export interface SlotState {
  /** The source answered. */
  reachable: boolean;
  error?: string;
  /** Null when the slot does not exist (yet). */
  slot: { active: boolean; activePid: number | null; confirmedFlushLsn: string | null; lagBytes: number | null } | null;
}

/**
 * Reads a replication slot's state on a source database, with short timeouts: used by status pages and
 * metrics, which must answer even when a source is down.
 */
export async function probeSlot(url: string, slot: string, timeoutMs = 3_000): Promise<SlotState> {
  let client: Client | undefined;
  try {
    client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs });
    client.on('error', () => undefined); // a broken connection fails the query below, which is reported
    await client.connect();
    const { rows } = await client.query<{ active: boolean; active_pid: number | null; lsn: string; lag: number }>(
      `SELECT active, active_pid, confirmed_flush_lsn::text AS lsn,
              pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::float8 AS lag
         FROM pg_replication_slots WHERE slot_name = $1`,
      [slot],
    );
    const r = rows[0];
    return {
      reachable: true,
      slot: r ? { active: r.active, activePid: r.active_pid, confirmedFlushLsn: r.lsn, lagBytes: r.lag } : null,
    };
  } catch (error) {
    return { reachable: false, error: (error as Error).message, slot: null };
  } finally {
    await client?.end().catch(() => undefined);
  }
}
